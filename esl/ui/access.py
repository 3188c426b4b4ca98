"""Who is at the console, and what they may do: the API's roles, enforced on the server.

Every page needs a signed-in session (else a redirect to the sign-in page); every request
that changes something needs the session's CSRF token back. A role a page or an action
is not for gets 403 with a page that says so.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request

from esl.api.dependencies import ApiContext, context
from esl.services.keys import Principal, Role
from esl.ui.console_sessions import SignedIn, signed_in

__all__ = [
    "COOKIE",
    "CSRF_FIELD",
    "CSRF_HEADER",
    "ConsoleForbiddenError",
    "SignInNeededError",
    "User",
    "current_user",
    "may",
    "require",
    "require_csrf",
]

COOKIE = "esl_console"
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"

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


def _signed_in(request: Request, ctx: Annotated[ApiContext, Depends(context)]) -> SignedIn:
    with ctx.sessions() as session:
        user = signed_in(session, cookie=request.cookies.get(COOKIE), now=ctx.clock())
    if user is None:
        raise SignInNeededError
    return user


async def require_csrf(
    request: Request, user: Annotated[SignedIn, Depends(_signed_in)]
) -> SignedIn:
    """The session, for a request that changes something: its CSRF token must come back."""
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        form = await request.form()
        field = form.get(CSRF_FIELD)
        sent = field if isinstance(field, str) else None
    if sent is None or not _same(sent, user.csrf_token):
        raise ConsoleForbiddenError("the form is stale or came from another site: reload the page")
    return user


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


current_user = _signed_in
User = Annotated[SignedIn, Depends(_signed_in)]
