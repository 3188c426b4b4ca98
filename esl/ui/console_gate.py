"""The console's checks that must come before a request's body is read.

FastAPI parses a form (and Starlette spools its file parts to temporary files, with no
limit) before any route dependency runs, so a session or CSRF check in a dependency comes
after the body, however large, was read from whoever sent it. This ASGI gate, in front of
`/ui/`, answers a request that changes something at once, body unread, when:

- no valid session comes with it (the sign-in page, as for a page without one);
- it sends an `X-CSRF-Token` header (htmx does) that is not the session's (403);
- it announces a body larger than the console takes (413): the preview's 8 MiB file and
  its form, a few KiB for every other form; a body sent in chunks is counted as it
  arrives and cut at the same bound.

A plain form sends its CSRF token as a field of the body: `require_csrf` checks it once
the form is read, a read the size bound keeps small, by a browser already signed in
(the session cookie is `SameSite=Strict`, so a page of another site has no session here).

An address holding NUL (`/ui/stores/%00`) is refused too, before a route asks the
database for it (forms are held to the same by `console_values.FormText`).

The sign-in form has no session yet: it is bounded by size too, and refused when the
browser says it comes from another site (login CSRF: a page of another site signing the
browser in under its own key).
"""

from __future__ import annotations

import contextlib
from urllib.parse import unquote, urlsplit

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from esl.api.dependencies import ApiContext
from esl.ui.access import (
    COOKIE,
    CSRF_HEADER,
    SESSION_STATE,
    STALE_FORM,
    csrf_matches,
    sign_in_answer,
)
from esl.ui.console_sessions import SignedIn, signed_in
from esl.ui.console_values import NUL
from esl.ui.page_rendering import page

__all__ = ["FORM_BYTES", "UPLOAD_FORM_BYTES", "ConsoleGate", "body_limit"]

# Methods that change nothing; every other one needs a session (and its CSRF token).
_READING = frozenset({"GET", "HEAD", "OPTIONS"})
SIGN_IN_PATH = "sign-in"
UPLOAD_PATH = "publications/preview"
UPLOAD_FILE_BYTES = 8 * 1024 * 1024  # the largest price or promotion file the preview takes
# Room for the preview form's other fields and the multipart boundaries and headers.
UPLOAD_FORM_BYTES = UPLOAD_FILE_BYTES + 64 * 1024
# Every other console form holds a few fields of at most 64 characters.
FORM_BYTES = 64 * 1024
# Browsers name a request's origin; a sign-in from another site is refused.
_CROSS_SITE = frozenset({"cross-site", "same-site"})


class _BodyTooLargeError(Exception):
    """A body sent in chunks grew past the bound: raised from `receive`, so the parser
    reading it stops."""


def body_limit(path_in_console: str) -> int:
    return UPLOAD_FORM_BYTES if path_in_console == UPLOAD_PATH else FORM_BYTES


class ConsoleGate:
    """ASGI middleware: the session, CSRF header and size checks of console requests
    under `prefix`, before their body is read. The session found is kept in the request
    state, so the route's dependency does not look the cookie up a second time."""

    def __init__(self, app: ASGIApp, *, prefix: str, context: ApiContext) -> None:
        self.app = app
        self.prefix = prefix.rstrip("/") + "/"
        self.context = context

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        in_console = scope["path"][len(self.prefix) :]
        limit = body_limit(in_console)
        refusal = await self._refusal(request, in_console, limit)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        await self._bounded(scope, receive, send, limit)

    async def _refusal(self, request: Request, in_console: str, limit: int) -> Response | None:
        """The answer to give at once, or None to let the request through."""
        query = unquote(request.scope.get("query_string", b"").decode("latin-1"))
        if NUL in request.scope["path"] or NUL in query:
            # PostgreSQL refuses NUL in text: no store, label or search can hold one.
            return _refused(request, "the address cannot be read: it holds a NUL character", 422)
        if request.method not in _READING:
            if in_console == SIGN_IN_PATH:
                if _from_another_site(request):
                    return _refused(
                        request,
                        "the sign-in form came from another site: open the console's own "
                        "sign-in page and sign in there",
                        403,
                    )
            else:
                user = await run_in_threadpool(self._session_of, request.cookies.get(COOKIE))
                if user is None:
                    return sign_in_answer(request)
                request.scope.setdefault("state", {})[SESSION_STATE] = user
                sent = request.headers.get(CSRF_HEADER)
                if sent is not None and not csrf_matches(sent, user):
                    return _refused(request, STALE_FORM, 403)
        announced = request.headers.get("content-length", "")
        if announced.isdigit() and int(announced) > limit:
            return _too_large(request, limit)
        return None

    def _session_of(self, cookie: str | None) -> SignedIn | None:
        if not cookie:  # no lookup needed to refuse
            return None
        with self.context.sessions() as session:
            return signed_in(session, cookie=cookie, now=self.context.clock())

    async def _bounded(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        """Pass the request on, its body counted as it arrives and cut past `limit`; the
        answer to a cut body is 413, whatever the route made of the body it could not
        finish reading."""
        body = _Body(limit)

        async def counted() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                body.arrived(len(message.get("body", b"")))
            return message

        async def answer(message: Message) -> None:
            if body.cut:  # the route's own answer to a body it could not read is dropped
                return
            body.answered = body.answered or message["type"] == "http.response.start"
            await send(message)

        with contextlib.suppress(_BodyTooLargeError):
            await self.app(scope, counted, answer)
        if body.cut and not body.answered:
            await _too_large(Request(scope), limit)(scope, receive, send)


class _Body:
    """How much of a request's body arrived, and whether it was cut."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.received = 0
        self.cut = False
        self.answered = False

    def arrived(self, size: int) -> None:
        self.received += size
        if self.received > self.limit:
            self.cut = True
            raise _BodyTooLargeError


def _from_another_site(request: Request) -> bool:
    """What the browser says of where the form came from: `Sec-Fetch-Site` (every current
    browser), else an `Origin` whose host is not the one asked. A client that sends
    neither (curl, a script) is no browser another site could drive."""
    fetched_from = request.headers.get("sec-fetch-site")
    if fetched_from is not None:
        return fetched_from in _CROSS_SITE
    origin = request.headers.get("origin")
    if origin is None:
        return False
    return origin == "null" or urlsplit(origin).netloc != request.headers.get("host")


def _refused(request: Request, message: str, status: int) -> Response:
    return page(request, "refused.html", user=None, message=message, status_code=status)


def _too_large(request: Request, limit: int) -> Response:
    largest = (
        f"files up to {UPLOAD_FILE_BYTES // 2**20} MiB"
        if limit == UPLOAD_FORM_BYTES
        else f"forms up to {FORM_BYTES // 1024} KiB"
    )
    return _refused(request, f"the request is larger than the console takes ({largest})", 413)
