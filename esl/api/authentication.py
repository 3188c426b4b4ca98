"""Authentication before anything else: a request to the API without a valid key gets
401, whatever else is wrong with it (a missing parameter, malformed JSON, a method the
route does not take). FastAPI would validate parameters and parse the body first, so a
caller without a key could probe the API's shape; this gate runs before routing.

The principal found is kept in the request state, so the route's role check does not look
the key up a second time.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from esl.api.dependencies import ApiContext, NotAuthenticatedError, principal_of
from esl.services.keys import Principal
from pricing.errors import EslError

__all__ = ["ApiKeyGate"]

HEADER = b"x-api-key"


class ApiKeyGate:
    """ASGI middleware: requests under `prefix` need a known, unrevoked X-API-Key."""

    def __init__(self, app: ASGIApp, *, prefix: str, context: ApiContext) -> None:
        self.app = app
        self.prefix = prefix
        self.context = context

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        token = next(
            (value.decode("latin-1") for name, value in scope["headers"] if name == HEADER), None
        )
        try:
            principal = await run_in_threadpool(self._authenticate, token)
        except EslError as error:
            await _refuse(send, error)
            return
        scope.setdefault("state", {})["principal"] = principal
        await self.app(scope, receive, send)

    def _authenticate(self, token: str | None) -> Principal:
        if not token:  # no lookup needed to refuse
            raise NotAuthenticatedError("send an API key in the X-API-Key header")
        with self.context.sessions() as session:
            return principal_of(session, token)


async def _refuse(send: Send, error: EslError) -> None:
    body = json.dumps({"error": {"code": error.code, "message": error.message}}).encode()
    headers: list[tuple[bytes, bytes]] = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"www-authenticate", b"APIKey"),
    ]
    start: dict[str, Any] = {"type": "http.response.start", "status": 401, "headers": headers}
    await send(start)
    await send({"type": "http.response.body", "body": body})
