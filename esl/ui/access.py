"""Who is at the console, and what they may do: the API's roles, enforced on the server.

Every page needs a signed-in session (else a redirect to the sign-in page); every request
that changes something needs the session's CSRF token back. A role a page or an action
is not for gets 403 with a page that says so.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse, Response

from esl.api.dependencies import ApiContext, context
from esl.services.keys import Principal, Role
from esl.ui.console_sessions import SignedIn, signed_in

__all__ = [
    "COOKIE",
    "CSRF_FIELD",
    "CSRF_HEADER",
    "SESSION_STATE",
    "STALE_FORM",
    "Changing",
    "ConsoleForbiddenError",
    "SignInNeededError",
    "User",
    "csrf_matches",
    "current_user",
    "may",
    "require",
    "require_csrf",
    "sign_in_answer",
]

COOKIE = "esl_console"
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"
SESSION_STATE = "console_user"  # the request state key of the session the gate found
STALE_FORM = "the form is stale or came from another site: reload the page"
SIGN_IN_URL = "/ui/sign-in"

# What each console capability is open to (admin may do everything), as in the API.
_CAPABILITIES: dict[str, frozenset[Role]] = {
    "act_on_labels": frozenset({Role.STORE}),  # flash, ping, refresh, bind, unbind
    "publish": frozenset({Role.PRICING}),  # upload a CSV, publish
    "audit": frozenset({Role.AUDITOR}),
}


class SignInNeededError(Exception):
    """No valid session: the browser is sent to the sign-in page."""


class ConsoleForbiddenError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def may(principal: Principal, capability: str) -> bool:
    return principal.role is Role.ADMIN or principal.role in _CAPABILITIES[capability]


def require(principal: Principal, capability: str) -> None:
    if not may(principal, capability):
        raise ConsoleForbiddenError(f"the {principal.role} role may not do this")


def require_store(principal: Principal, store: str) -> None:
    if principal.role is Role.STORE and principal.store != store:
        raise ConsoleForbiddenError(f"a {principal.store} key cannot see or act in {store}")


def sign_in_answer(request: Request) -> Response:
    """What a request without a valid session gets: the sign-in page."""
    if request.headers.get("hx-request"):
        # htmx follows HX-Redirect with a full page load.
        return Response(status_code=401, headers={"HX-Redirect": SIGN_IN_URL})
    return RedirectResponse(SIGN_IN_URL, status_code=303)


def _signed_in(request: Request, ctx: Annotated[ApiContext, Depends(context)]) -> SignedIn:
    # The console gate (esl.ui.console_gate) looked up the session of a request that
    # changes something before its body was read.
    user = request.scope.get("state", {}).get(SESSION_STATE)
    if isinstance(user, SignedIn):
        return user
    with ctx.sessions() as session:
        user = signed_in(session, cookie=request.cookies.get(COOKIE), now=ctx.clock())
    if user is None:
        raise SignInNeededError
    return user


async def require_csrf(
    request: Request, user: Annotated[SignedIn, Depends(_signed_in)]
) -> SignedIn:
    """The session, for a request that changes something: its CSRF token must come back,
    in htmx's header (the console gate refused a wrong one before the body was read) or
    as a form field."""
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        form = await request.form()
        field = form.get(CSRF_FIELD)
        sent = field if isinstance(field, str) else None
    if not csrf_matches(sent, user):
        raise ConsoleForbiddenError(STALE_FORM)
    return user


def csrf_matches(sent: str | None, user: SignedIn) -> bool:
    """Whether `sent` is the session's CSRF token (compared in constant time)."""
    return sent is not None and hmac.compare_digest(sent.encode(), user.csrf_token.encode())


current_user = _signed_in
User = Annotated[SignedIn, Depends(_signed_in)]
# A signed-in user whose request changes something (its CSRF token checked).
Changing = Annotated[SignedIn, Depends(require_csrf)]
