"""Security events (forged answers, frames altered in transit) per store, for health."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict

from esl.api.dependencies import Ctx, CurrentSession, Watcher
from esl.services.keys import Role
from esl.services.labels import require_store_access
from esl.services.security_events import recent_security_events, security_summary
from esl.services.stores import require_known_stores

__all__ = ["SecurityHealthOut", "router"]

router = APIRouter()


class StoreSecurityOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    store: str
    events: int
    kinds: dict[str, int]
    last_at: datetime | None


class SecurityEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    at: datetime
    kind: str
    store: str | None
    gateway: str | None
    label_id: str | None
    sequence: int | None
    detail: str


class SecurityHealthOut(BaseModel):
    window_hours: int
    stores: list[StoreSecurityOut]
    events: list[SecurityEventOut]


@router.get("/health/security", response_model=SecurityHealthOut, tags=["health"])
def get_security_health(
    session: CurrentSession,
    principal: Watcher,
    ctx: Ctx,
    store: Annotated[list[str] | None, Query()] = None,
) -> SecurityHealthOut:
    """Security events of the last 24 h: per store by kind, and the newest 100 events."""
    if principal.role is Role.STORE and not store:
        store = [principal.store or ""]
    for code in store or []:  # a store key asking for another store: 403, as for label health
        require_store_access(principal, code)
    require_known_stores(session, store or [])  # an unknown store is 404, as for label health
    now = ctx.clock()
    return SecurityHealthOut(
        window_hours=24,
        stores=[
            StoreSecurityOut.model_validate(item)
            for item in security_summary(session, now=now, stores=store)
        ],
        events=[
            SecurityEventOut.model_validate(item)
            for item in recent_security_events(session, now=now, stores=store)
        ],
    )
