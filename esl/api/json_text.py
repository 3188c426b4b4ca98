"""A JSON body whose text holds a lone surrogate is a malformed request.

JSON may escape a character as `\\ud800`, half of a UTF-16 surrogate pair; alone it is no
character at all, and Python's decoder keeps it as such in the string it reads. Neither
database stores it (SQLite's and PostgreSQL's drivers encode UTF-8) and the answer cannot
be written as UTF-8: a template region named `"a\\ud800"`, a product's `web_url`, a
promotion's `name` or a `set_price` item's `sku` holding one were a 500 Internal Server
Error. Such a body is now 422 `invalid_request`, as a body that is not UTF-8 is, naming
the place of the first string that holds one; a pair (`"\\ud83d\\ude00"`, one emoji) is one
character and passes.

Only a JSON body is looked at (an upload is passed on unread), and only one that escapes
a surrogate at all is decoded here (its bytes are searched first).
"""

from __future__ import annotations

import json
import re
from typing import Any

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from esl.api.errors import invalid_request_response

__all__ = ["LoneSurrogateGate", "lone_surrogate_place"]

# `\uD800` to `\uDFFF` written in a JSON string (a pair too: decoded, it is looked at).
_ESCAPED_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_SURROGATE = re.compile("[\ud800-\udfff]")


def lone_surrogate_place(value: Any, place: tuple[str, ...] = ()) -> tuple[str, ...] | None:
    """The place of the first key or string in decoded JSON `value` that holds a lone
    surrogate, or None."""
    if isinstance(value, str):
        return place if _SURROGATE.search(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            if _SURROGATE.search(key):
                return (*place, key.encode("utf-8", "backslashreplace").decode("ascii"))
            found = lone_surrogate_place(item, (*place, key))
            if found is not None:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = lone_surrogate_place(item, (*place, str(index)))
            if found is not None:
                return found
    return None


class LoneSurrogateGate:
    """ASGI middleware: 422 for a JSON body under `prefix` holding a lone surrogate."""

    def __init__(self, app: ASGIApp, *, prefix: str) -> None:
        self.app = app
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] in ("GET", "HEAD", "OPTIONS")
            or not scope["path"].startswith(self.prefix)
            or not _read_as_json(scope)
        ):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        message: Message = {"type": "http.request", "body": b"", "more_body": True}
        while message["type"] == "http.request" and message.get("more_body", False):
            message = await receive()
            chunks.append(message.get("body", b""))
        body = b"".join(chunks)
        place = _surrogate_place(body) if message["type"] == "http.request" else None
        if place is not None:
            await _refusal(place)(scope, receive, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                if message["type"] != "http.request":
                    return message  # the client left while sending: say so
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def _read_as_json(scope: Scope) -> bool:
    """Whether FastAPI reads the body as JSON: its media type is JSON, or none is given
    (a CSV upload, multipart, is passed on unread and unbuffered)."""
    kind = next((value for name, value in scope["headers"] if name == b"content-type"), b"")
    media = kind.split(b";", 1)[0].strip().lower()
    main, _, sub = media.partition(b"/")
    return not media or (main == b"application" and (sub == b"json" or sub.endswith(b"+json")))


def _surrogate_place(body: bytes) -> tuple[str, ...] | None:
    if not _ESCAPED_SURROGATE.search(body):
        return None
    try:
        return lone_surrogate_place(json.loads(body))
    except (ValueError, RecursionError):
        return None  # not JSON, not UTF-8, nested too deep: the route says so


def _refusal(place: tuple[str, ...]) -> JSONResponse:
    return invalid_request_response(
        [
            {
                "location": ["body", *place],
                "reason": "holds a lone surrogate (\\ud800-\\udfff escaped alone): "
                "half of a UTF-16 pair is no character",
            }
        ]
    )
