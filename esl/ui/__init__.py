"""The web console under /ui: server-rendered pages (Jinja2 + htmx, shipped in the
package, no build step, no network) for the people who run the shelves. The API's roles
decide what each person sees and may do (`esl.ui.access`)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
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

    api_handler = app.exception_handlers[EslError]  # install_error_handlers ran first

    async def domain_error(request: Request, error: Exception) -> Response:
        """On a console page, a refusal is a page that says why; on the API, JSON."""
        if not request.url.path.startswith(f"{CONSOLE_PREFIX}/") or not isinstance(error, EslError):
            answer = api_handler(request, error)
            assert not isinstance(answer, Response)  # install_error_handlers' are async
            return await answer
        return page(
            request, "refused.html", user=None, message=error.message, status_code=status_for(error)
        )

    app.add_exception_handler(EslError, domain_error)

    invalid_handler = app.exception_handlers[RequestValidationError]
    http_handler = app.exception_handlers[StarletteHTTPException]

    async def malformed_form(request: Request, error: Exception) -> Response:
        """A console form that cannot be read (a field too long, a body the parser cuts)
        is a page that says so, not the API's JSON."""
        on_console = request.url.path.startswith(f"{CONSOLE_PREFIX}/")
        if on_console and isinstance(error, RequestValidationError):
            reasons = "; ".join(str(item.get("msg", "")) for item in error.errors())
            return _refused(request, f"the form could not be read ({reasons})")
        if on_console and isinstance(error, StarletteHTTPException) and error.status_code == 400:
            return _refused(request, f"the form could not be read ({error.detail})")
        fallback = invalid_handler if isinstance(error, RequestValidationError) else http_handler
        answer = fallback(request, error)
        assert not isinstance(answer, Response)  # install_error_handlers' are async
        return await answer

    app.add_exception_handler(RequestValidationError, malformed_form)
    app.add_exception_handler(StarletteHTTPException, malformed_form)


def _refused(request: Request, message: str) -> HTMLResponse:
    return page(request, "refused.html", user=None, message=message, status_code=422)
