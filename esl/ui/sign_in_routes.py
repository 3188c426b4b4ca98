"""Sign-in (API key for a session cookie) and sign-out (the session revoked)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from esl.api.dependencies import Ctx
from esl.errors import AccessDeniedError
from esl.ui.access import COOKIE, Changing
from esl.ui.console_sessions import SESSION_LIFETIME, open_session, revoke_session
from esl.ui.page_rendering import page

__all__ = ["router"]

router = APIRouter()


@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_form(request: Request) -> HTMLResponse:
    return page(request, "sign_in.html", user=None)


@router.post("/sign-in", response_model=None)
def sign_in(
    request: Request, ctx: Ctx, api_key: Annotated[str, Form(max_length=200)] = ""
) -> Response:
    try:
        with ctx.sessions() as session, session.begin():
            token, _ = open_session(session, api_key=api_key, now=ctx.clock())
    except AccessDeniedError:
        return page(
            request,
            "sign_in.html",
            user=None,
            error="That key is unknown or revoked. Ask an administrator for a key "
            "(`esl keys create NAME --role ROLE`).",
            status_code=401,
        )
    response = RedirectResponse("/ui/", status_code=303)
    response.set_cookie(
        COOKIE,
        token,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/ui",
    )
    return response


@router.post("/sign-out")
def sign_out(ctx: Ctx, user: Changing) -> RedirectResponse:
    with ctx.sessions() as session, session.begin():
        revoke_session(session, session_id=user.session_id, now=ctx.clock())
    response = RedirectResponse("/ui/sign-in", status_code=303)
    response.delete_cookie(COOKIE, path="/ui")
    return response
