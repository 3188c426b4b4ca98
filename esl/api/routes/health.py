"""Label health per store: up to date, pending, failed, offline, low battery."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from esl.api.dependencies import Ctx, CurrentSession, Watcher
from esl.pipeline.controller_status import (
    controller_report,
    controller_status_path,
    read_controller_status,
)
from esl.services.health import StoreHealth, label_health
from esl.services.keys import Role
from esl.services.label_status import StatusThresholds
from esl.services.labels import require_store_access
from esl.services.stores import require_known_stores

__all__ = ["ControllerStatusOut", "UnheardStoreOut", "router"]

router = APIRouter(tags=["health"])  # every route here is in this section of the API docs
# Auditors and the pricing team see every store; a store key sees its own.


@router.get("/health/labels", response_model=list[StoreHealth])
def get_label_health(
    session: CurrentSession,
    principal: Watcher,
    ctx: Ctx,
    store: Annotated[list[str] | None, Query()] = None,
) -> list[StoreHealth]:
    """Per store: labels up to date / pending / failed / unplanned, offline, low battery."""
    if principal.role is Role.STORE and not store:
        store = [principal.store or ""]
    for code in store or []:  # a store key asking for another store: 403
        require_store_access(principal, code)
    require_known_stores(session, store or [])
    return label_health(
        session,
        now=ctx.clock(),
        stores=store,
        thresholds=StatusThresholds.from_settings(ctx.settings),
    )


class UnheardStoreOut(BaseModel):
    """A store the controller serves and cannot hear: since when, and why."""

    since: datetime
    reason: str


class ControllerStatusOut(BaseModel):
    """The running controller as it last reported itself; `running` false when it has not
    reported for three lease renewals (or never)."""

    running: bool
    pid: int | None = None
    host: str | None = None
    started_at: datetime | None = None
    written_at: datetime | None = None
    database_unreachable_since: datetime | None = None
    database_failed_tries: int = 0
    database_error: str | None = None
    database_outages: int = 0
    # Per store, uplinks dropped since start over its bound of waiting ones (a flood).
    uplinks_dropped: dict[str, int] = {}
    # Per store served whose answers cannot reach the controller now (its own broker
    # session refused or down): nothing sent there is confirmed until it is heard again.
    stores_unheard: dict[str, UnheardStoreOut] = {}


@router.get("/health/controller", response_model=ControllerStatusOut)
def get_controller_health(principal: Watcher, ctx: Ctx) -> ControllerStatusOut:
    """The controller: running or not, and since when its database does not answer."""
    status = read_controller_status(controller_status_path(ctx.settings.data_dir))
    return ControllerStatusOut(
        **controller_report(
            status,
            now=ctx.clock(),
            renew_every=timedelta(seconds=ctx.settings.controller_lease_renew_s),
        )
    )
