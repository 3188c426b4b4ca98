"""What every route gets: a database session, the caller's principal, the clock, settings."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader
from sqlalchemy.orm import Session, sessionmaker

from esl.errors import AccessDeniedError, StoreOfRecordError
from esl.services.keys import Principal, Role, authenticate
from esl.settings import Settings

__all__ = [
    "ANY_ROLE",
    "Admin",
    "ApiContext",
    "ApiKey",
    "Auditor",
    "Ctx",
    "CurrentSession",
    "NotAuthenticatedError",
    "PricingTeam",
    "Reader",
    "StoreStaff",
    "Watcher",
    "allow",
    "context",
    "database_session",
    "principal_of",
]

api_key_header = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="A key made with `esl keys create`."
)


class NotAuthenticatedError(StoreOfRecordError):
    code = "not_authenticated"


@dataclass(frozen=True, slots=True)
class ApiContext:
    """Built once per app: no connection is opened until a request needs one."""

    settings: Settings
    sessions: sessionmaker[Session]
    clock: Callable[[], datetime]


async def context(request: Request) -> ApiContext:
    # async: FastAPI runs sync dependencies in the thread pool, and each hop costs latency.
    found = request.app.state.context
    assert isinstance(found, ApiContext)
    return found


def database_session(ctx: Annotated[ApiContext, Depends(context)]) -> Iterator[Session]:
    """One transaction per request: committed when the route returns, rolled back otherwise."""
    with ctx.sessions() as session, session.begin():
        yield session


# scope="function": commit before the response is sent, so a client that sees 201 can
# read what it created on its very next request.
CurrentSession = Annotated[Session, Depends(database_session, scope="function")]


def principal_of(session: Session, token: str | None) -> Principal:
    """The caller behind `token`; NotAuthenticatedError when there is none or it is unknown."""
    if not token:
        raise NotAuthenticatedError("send an API key in the X-API-Key header")
    try:
        return authenticate(session, token)
    except AccessDeniedError as error:
        raise NotAuthenticatedError(error.message) from error


ApiKey = Annotated[str | None, Security(api_key_header)]


def _principal(request: Request, session: CurrentSession, token: ApiKey) -> Principal:
    known = getattr(request.state, "principal", None)  # found by the ApiKeyGate middleware
    if isinstance(known, Principal):
        return known
    return principal_of(session, token)


def allow(*roles: Role) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """A dependency that lets only `roles` through (admin always), 403 for the others."""
    permitted = {*roles, Role.ADMIN}

    async def check(principal: Annotated[Principal, Depends(_principal)]) -> Principal:
        if principal.role not in permitted:
            raise AccessDeniedError(
                f"the {principal.role} role may not do this",
                role=principal.role.value,
                allowed=sorted(r.value for r in permitted),
            )
        return principal

    return check


ANY_ROLE = tuple(Role)

# What a route parameter's type says about who may call it; declared once, imported by
# every route module.
Ctx = Annotated[ApiContext, Depends(context)]
Reader = Annotated[Principal, Depends(allow(*ANY_ROLE))]
Admin = Annotated[Principal, Depends(allow(Role.ADMIN))]
Auditor = Annotated[Principal, Depends(allow(Role.AUDITOR))]
PricingTeam = Annotated[Principal, Depends(allow(Role.PRICING))]
StoreStaff = Annotated[Principal, Depends(allow(Role.STORE))]
Watcher = Annotated[Principal, Depends(allow(Role.AUDITOR, Role.PRICING, Role.STORE))]
