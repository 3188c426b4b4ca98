"""The HTTP API under /api/v1 (OpenAPI at /docs)."""

from esl.api.app import API_PREFIX, create_app

__all__ = ["API_PREFIX", "create_app"]
