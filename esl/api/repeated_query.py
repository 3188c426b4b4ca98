"""A query parameter that takes one value, given twice, is a malformed request.

FastAPI silently keeps the last of `?offset=0&offset=100`; a client that repeats a scalar
parameter has made a mistake the answer should name (422, like any other malformed
request), and the OpenAPI document promises one value. Array parameters (`?store=A&store=B`)
are repeated by design and pass.
"""

from __future__ import annotations

from collections import Counter
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Receive, Scope, Send

from esl.api.errors import invalid_request_response
from esl.api.route_templates import operation_paths

__all__ = ["RepeatedQueryGate"]


class RepeatedQueryGate:
    """ASGI middleware: 422 for a single-valued query parameter given more than once."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or b"&" not in scope.get("query_string", b""):
            await self.app(scope, receive, send)
            return
        counts = Counter(
            name for name, _ in parse_qsl(scope["query_string"].decode("latin-1"), True)
        )
        single = operation_paths(scope["app"]).single_valued_query(scope["path"], scope["method"])
        repeated = sorted(name for name, count in counts.items() if count > 1 and name in single)
        if not repeated:
            await self.app(scope, receive, send)
            return
        problems = [
            {"location": ["query", name], "reason": "takes one value, given twice"}
            for name in repeated
        ]
        await invalid_request_response(problems)(scope, receive, send)
