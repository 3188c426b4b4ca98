"""Label health per store: up to date, pending, failed, offline, low battery."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict

from esl.api.dependencies import ApiContext, CurrentSession, allow, context
from esl.services.health import label_health
from esl.services.keys import Principal, Role
from esl.services.labels import require_store_access
from esl.services.stores import require_known_stores

__all__ = ["StoreHealthOut", "router"]

router = APIRouter()
# Auditors and the pricing team see every store; a store key sees its own.
Watcher = Annotated[Principal, Depends(allow(Role.AUDITOR, Role.PRICING, Role.STORE))]
Ctx = Annotated[ApiContext, Depends(context)]


class StoreHealthOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    store: str
    labels: int
    up_to_date: int
    pending: int
    failed: int
    unplanned: int
    offline: int
    low_battery: int
    failures: dict[str, int]


@router.get("/health/labels", response_model=list[StoreHealthOut], tags=["health"])
def get_label_health(
    session: CurrentSession,
    principal: Watcher,
    ctx: Ctx,
    store: Annotated[list[str] | None, Query()] = None,
) -> list[StoreHealthOut]:
    """Per store: labels up to date / pending / failed / unplanned, offline, low battery."""
    if principal.role is Role.STORE and not store:
        store = [principal.store or ""]
    for code in store or []:  # a store key asking for another store: 403
        require_store_access(principal, code)
    require_known_stores(session, store or [])
    return [
        StoreHealthOut.model_validate(health)
        for health in label_health(session, now=ctx.clock(), stores=store)
    ]
