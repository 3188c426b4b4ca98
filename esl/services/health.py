"""Label health per store: how many labels are up to date, waiting, failed, unreachable.

A label is counted once in exactly one of `up_to_date`, `pending`, `failed` or
`unplanned`; `offline` and `low_battery` are conditions on top of that:

    up_to_date   confirmed the content it should show, nothing open
    pending      an update is on its way (due, in flight, or waiting for a retry)
    failed       an update is parked (offline, flat battery, rejected: see `failures`)
    unplanned    bound to nothing, or its content could not be worked out
    offline      not heard for `offline_after`, never heard, or its gateway is offline
    low_battery  last reported battery below `low_battery_mv`
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from esl.db.models import GatewayStateRow, LabelRow, LabelStateRow, OutboxRow

__all__ = ["LOW_BATTERY_MV", "OFFLINE_AFTER", "StoreHealth", "label_health"]

# The simulated and common real labels stop refreshing at 2.4 V: warn a little before.
LOW_BATTERY_MV = 2_600
OFFLINE_AFTER = timedelta(minutes=30)


@dataclass(frozen=True, slots=True)
class StoreHealth:
    store: str
    labels: int
    up_to_date: int
    pending: int
    failed: int
    unplanned: int
    offline: int
    low_battery: int
    failures: dict[str, int] = field(default_factory=dict)  # parked reason -> labels


def label_health(
    session: Session,
    *,
    now: datetime,
    stores: list[str] | None = None,
    offline_after: timedelta = OFFLINE_AFTER,
    low_battery_mv: int = LOW_BATTERY_MV,
) -> list[StoreHealth]:
    """One `StoreHealth` per store that has labels (or per store in `stores`)."""
    open_status: dict[str, set[str]] = defaultdict(set)
    parked_reason: dict[str, str] = {}
    for label_id, status, reason in session.execute(
        select(OutboxRow.label_id, OutboxRow.status, OutboxRow.parked_reason).where(
            OutboxRow.status.in_(("pending", "sent", "parked", "held"))
        )
    ):
        open_status[label_id].add(status)
        if status == "parked":
            parked_reason[label_id] = reason or "unknown"
    offline_gateways = {
        (store, gateway)
        for store, gateway in session.execute(
            select(GatewayStateRow.store, GatewayStateRow.gateway).where(
                GatewayStateRow.online.is_(False)
            )
        )
    }
    statement = select(
        LabelRow.id,
        LabelRow.store,
        LabelRow.gateway,
        LabelStateRow.desired_hash,
        LabelStateRow.confirmed_hash,
        LabelStateRow.last_seen,
        LabelStateRow.battery_mv,
    ).outerjoin(LabelStateRow, LabelStateRow.label_id == LabelRow.id)
    if stores is not None:
        statement = statement.where(LabelRow.store.in_(stores))
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    failures: dict[str, Counter[str]] = defaultdict(Counter)
    for store in stores or []:
        counts[store]["labels"] += 0
    for label_id, store, gateway, desired, confirmed, last_seen, battery in session.execute(
        statement
    ):
        count = counts[store]
        count["labels"] += 1
        statuses = open_status.get(label_id, set())
        if "parked" in statuses:
            count["failed"] += 1
            failures[store][parked_reason[label_id]] += 1
        elif statuses:
            count["pending"] += 1
        elif desired is not None and desired == confirmed:
            count["up_to_date"] += 1
        else:
            count["unplanned"] += 1
        if (
            last_seen is None
            or now - last_seen > offline_after
            or (store, gateway) in offline_gateways
        ):
            count["offline"] += 1
        if battery is not None and battery < low_battery_mv:
            count["low_battery"] += 1
    return [
        StoreHealth(
            store=store,
            labels=count["labels"],
            up_to_date=count["up_to_date"],
            pending=count["pending"],
            failed=count["failed"],
            unplanned=count["unplanned"],
            offline=count["offline"],
            low_battery=count["low_battery"],
            failures=dict(failures[store]),
        )
        for store, count in sorted(counts.items())
    ]
