"""The HTTP API under /api/v1 (OpenAPI at /docs): `esl.api.app.create_app` builds it."""
