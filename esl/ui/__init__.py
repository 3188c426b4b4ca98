"""The web console under /ui: server-rendered pages (Jinja2 + htmx, shipped in the
package, no build step, no network) for the people who run the shelves. The API's roles
decide what each person sees and may do (`esl.ui.access`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, cast

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DataError, IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

from esl.api.errors import status_for
from esl.ui import audit_routes, publication_routes, shelf_routes, sign_in_routes
from esl.ui.access import ConsoleForbiddenError, SignInNeededError, sign_in_answer
from esl.ui.console_gate import ConsoleGate
from esl.ui.page_rendering import page
from pricing.errors import EslError

__all__ = ["CONSOLE_PREFIX", "install_console"]

CONSOLE_PREFIX = "/ui"
_STATIC = Path(__file__).parent / "static"


def install_console(app: FastAPI) -> None:
    """Serve the console on `app` (which holds the `ApiContext` in `app.state.context`)."""
    app.mount(f"{CONSOLE_PREFIX}/static", StaticFiles(directory=_STATIC), name="console-static")
    for module in (sign_in_routes, shelf_routes, publication_routes, audit_routes):
        app.include_router(module.router, prefix=CONSOLE_PREFIX, include_in_schema=False)

    @app.get(CONSOLE_PREFIX, include_in_schema=False)
    def console_root() -> RedirectResponse:
        return RedirectResponse(f"{CONSOLE_PREFIX}/", status_code=307)

    # Before the body of a request is read: its session, CSRF header and size.
    app.add_middleware(ConsoleGate, prefix=CONSOLE_PREFIX, context=app.state.context)

    @app.exception_handler(SignInNeededError)
    async def sign_in_needed(request: Request, _: SignInNeededError) -> Response:
        return sign_in_answer(request)

    @app.exception_handler(ConsoleForbiddenError)
    async def forbidden(request: Request, error: ConsoleForbiddenError) -> HTMLResponse:
        return page(request, "refused.html", user=None, message=error.message, status_code=403)

    # On a console page a refusal is a page that says why, never the API's JSON (nor a
    # bare 500); elsewhere the API's handlers (install_error_handlers ran first) answer.
    for kind, console_answer in (
        (EslError, _domain_refusal),
        (DataError, _database_refusal),
        (IntegrityError, _database_refusal),
        (RequestValidationError, _unreadable_request),
        (StarletteHTTPException, _unreadable_request),
    ):
        app.add_exception_handler(
            kind, _page_on_console(app.exception_handlers[kind], console_answer)
        )


ApiHandler = Callable[[Request, Exception], Awaitable[Response]]
ConsoleAnswer = Callable[[Request, Exception], Response | None]


def _page_on_console(api_handler: Any, console_answer: ConsoleAnswer) -> ApiHandler:
    async def handler(request: Request, error: Exception) -> Response:
        if request.url.path.startswith(f"{CONSOLE_PREFIX}/"):
            answer = console_answer(request, error)
            if answer is not None:
                return answer
        api_answer = api_handler(request, error)
        assert not isinstance(api_answer, Response)  # install_error_handlers' are async
        return cast(Response, await api_answer)

    return handler


def _domain_refusal(request: Request, error: Exception) -> Response | None:
    if not isinstance(error, EslError):
        return None
    return _refused(request, error.message, status_for(error))


def _database_refusal(request: Request, error: Exception) -> Response | None:
    """The database's last word on a value or a race (the API's 422 and 409)."""
    if isinstance(error, IntegrityError):
        return _refused(
            request, "the change conflicts with stored data: reload the page and try again", 409
        )
    orig = getattr(error, "orig", None)
    reason = str(orig).splitlines()[0] if orig is not None else "refused"
    return _refused(request, f"the database refuses a value: {reason}", 422)


def _unreadable_request(request: Request, error: Exception) -> Response | None:
    """A console address or form that cannot be read (an id beyond any row's, a field too
    long or holding NUL, a body the parser cuts) is a page that says so."""
    if isinstance(error, RequestValidationError):
        problems = error.errors()
        reasons = "; ".join(str(item.get("msg", "")) for item in problems)
        places = {str(item.get("loc", ("body",))[0]) for item in problems}
        if "path" in places:  # /ui/publications/99999999999999999999 names nothing
            return _refused(request, f"there is no such page ({reasons})", 404)
        if places <= {"query"}:
            return _refused(request, f"the address could not be read ({reasons})", 422)
        return _refused(request, f"the form could not be read ({reasons})", 422)
    if isinstance(error, StarletteHTTPException) and error.status_code == 400:
        return _refused(request, f"the form could not be read ({error.detail})", 422)
    return None


def _refused(request: Request, message: str, status: int) -> HTMLResponse:
    return page(request, "refused.html", user=None, message=message, status_code=status)
