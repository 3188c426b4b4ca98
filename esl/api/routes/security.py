"""Security events (forged answers, frames altered in transit) per store, for health."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from esl.api.dependencies import Ctx, CurrentSession, Watcher
from esl.services.keys import Role
from esl.services.labels import require_store_access
from esl.services.security_events import (
    SecurityEventOut,
    StoreSecurity,
    recent_security_events,
    security_summary,
)
from esl.services.stores import require_known_stores

__all__ = ["SecurityHealthOut", "router"]

router = APIRouter()


class SecurityHealthOut(BaseModel):
    window_hours: int
    stores: list[StoreSecurity]
    events: list[SecurityEventOut]


@router.get("/health/security", response_model=SecurityHealthOut, tags=["health"])
def get_security_health(
    session: CurrentSession,
    principal: Watcher,
    ctx: Ctx,
    store: Annotated[list[str] | None, Query()] = None,
) -> SecurityHealthOut:
    """Security events of the last 24 h: per store by kind, and the newest 100 events (a
    store's own, and those of its labels on other stores' topics)."""
    own_stores = [principal.store or ""] if principal.role is Role.STORE else None
    if own_stores is not None and not store:
        store = own_stores
    for code in store or []:  # a store key asking for another store: 403, as for label health
        require_store_access(principal, code)
    require_known_stores(session, store or [])  # an unknown store is 404, as for label health
    now = ctx.clock()
    return SecurityHealthOut(
        window_hours=24,
        stores=security_summary(session, now=now, stores=store),
        # A store key reads an event of another store's label on its topic without it.
        events=recent_security_events(session, now=now, stores=store, own_stores=own_stores),
    )
