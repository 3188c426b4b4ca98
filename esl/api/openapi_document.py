"""The API's OpenAPI document, built once per process.

Every app `create_app` builds has the same routes (none depends on settings or the
database: `tests/esl/test_openapi_document.py` checks it), so they share one document.
Building it costs about 0.6 s, and the API's middleware needs it at an app's first
request (latency per path template, a 405's `Allow`, repeated query parameters:
`esl.api.route_templates`): a server pays that once, but a test process builds hundreds
of apps, and paid it for each.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

__all__ = ["shared_openapi"]

_document: dict[str, Any] | None = None
_building = threading.Lock()


def shared_openapi(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """`app.openapi` (FastAPI's hook for a document of one's own): the document of the
    first app that built it, which `app` takes as its own; never to be modified."""

    def openapi() -> dict[str, Any]:
        global _document
        if app.openapi_schema is None:
            with _building:
                if _document is None:
                    _document = type(app).openapi(app)
            app.openapi_schema = _document
        return app.openapi_schema

    return openapi
