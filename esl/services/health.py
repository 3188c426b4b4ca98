"""Label health per store: how many labels are in each state of the one classifier.

Each label is counted once in exactly one of `up_to_date`, `scheduled`, `pending`,
`failed`, `unplanned` or `unbound`; `offline` and `low_battery` are conditions on top of
that. What each means, and the thresholds (`ESL_LABEL_OFFLINE_AFTER_S`,
`ESL_LABEL_LOW_BATTERY_MV`), is decided in one place: `esl.services.label_status`, which
the audit and the demo use too.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from esl.db.models import (
    GatewayStateRow,
    LabelBindingRow,
    LabelRow,
    LabelStateRow,
    OutboxRow,
)
from esl.db.repositories.chunks import in_chunks
from esl.delivery_states import OPEN_STATUSES, OutboxStatus
from esl.services.label_status import (
    DeliveryFacts,
    LabelCondition,
    LabelStatus,
    StatusThresholds,
    classify_label_status,
)

__all__ = [
    "LabelConditionRow",
    "StoreHealth",
    "label_condition",
    "label_conditions",
    "label_health",
]


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
    scheduled: int = 0
    unbound: int = 0
    unplanned_reasons: dict[str, int] = field(default_factory=dict)  # reason -> labels


class LabelConditionRow(NamedTuple):
    label_id: str
    store: str
    condition: LabelCondition
    battery_mv: int | None
    last_seen: datetime | None


def label_health(
    session: Session,
    *,
    now: datetime,
    stores: list[str] | None = None,
    thresholds: StatusThresholds | None = None,
) -> list[StoreHealth]:
    """One `StoreHealth` per store that has labels (or per store in `stores`)."""
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    failures: dict[str, Counter[str]] = defaultdict(Counter)
    unplanned: dict[str, Counter[str]] = defaultdict(Counter)
    for store in stores or []:
        counts[store]["labels"] += 0
    for _, store, condition, _, _ in label_conditions(
        session, now=now, stores=stores, thresholds=thresholds
    ):
        count = counts[store]
        count["labels"] += 1
        count[condition.status.value] += 1
        if condition.status is LabelStatus.FAILED and condition.reason is not None:
            failures[store][condition.reason] += 1
        elif condition.status is LabelStatus.UNPLANNED and condition.reason is not None:
            unplanned[store][condition.reason] += 1
        count["offline"] += condition.offline
        count["low_battery"] += condition.low_battery
    return [
        StoreHealth(
            store=store,
            labels=count["labels"],
            up_to_date=count[LabelStatus.UP_TO_DATE.value],
            pending=count[LabelStatus.PENDING.value],
            failed=count[LabelStatus.FAILED.value],
            unplanned=count[LabelStatus.UNPLANNED.value],
            offline=count["offline"],
            low_battery=count["low_battery"],
            failures=dict(failures[store]),
            scheduled=count[LabelStatus.SCHEDULED.value],
            unbound=count[LabelStatus.UNBOUND.value],
            unplanned_reasons=dict(unplanned[store]),
        )
        for store, count in sorted(counts.items())
    ]


def label_condition(
    session: Session,
    label_id: str,
    *,
    now: datetime,
    thresholds: StatusThresholds | None = None,
) -> LabelCondition:
    """One stored label's condition, retired or not (`esl label show`, its console page)."""
    (row,) = label_conditions(session, now=now, label_ids=[label_id], thresholds=thresholds)
    return row.condition


def label_conditions(
    session: Session,
    *,
    now: datetime,
    stores: list[str] | None = None,
    thresholds: StatusThresholds | None = None,
    label_ids: list[str] | None = None,
) -> Iterator[LabelConditionRow]:
    """Every label's condition by the one classifier (of `stores`, retired labels left
    out, or just `label_ids`)."""
    thresholds = thresholds or StatusThresholds()
    open_status: dict[str, set[str]] = defaultdict(set)
    parked: dict[str, tuple[str | None, str | None]] = {}  # label -> (reason, detail)
    for label_id, status, reason, detail in session.execute(
        select(
            OutboxRow.label_id, OutboxRow.status, OutboxRow.parked_reason, OutboxRow.parked_detail
        ).where(OutboxRow.status.in_([status.value for status in OPEN_STATUSES]))
    ):
        open_status[label_id].add(status)
        if status == OutboxStatus.PARKED:
            parked[label_id] = (reason, detail)
        elif detail and label_id not in parked:
            # A waiting update with a store gateway's word on why it got no answer yet.
            parked[label_id] = (None, detail)
    offline_gateways = {
        (store, gateway)
        for store, gateway in session.execute(
            select(GatewayStateRow.store, GatewayStateRow.gateway).where(
                GatewayStateRow.online.is_(False)
            )
        )
    }
    bound = set(
        session.scalars(
            select(LabelBindingRow.label_id).where(LabelBindingRow.unbound_at.is_(None))
        )
    )
    statement = select(
        LabelRow.id,
        LabelRow.store,
        LabelRow.gateway,
        LabelStateRow.desired_hash,
        LabelStateRow.confirmed_hash,
        LabelStateRow.desired_display_at,
        LabelStateRow.last_seen,
        LabelStateRow.battery_mv,
        LabelStateRow.desired_key,
        LabelStateRow.displayed_hash,
        LabelStateRow.clock_offset_ms,
        LabelStateRow.unplanned_reason,
        LabelStateRow.held_display_at,
    ).outerjoin(LabelStateRow, LabelStateRow.label_id == LabelRow.id)
    statement = statement.order_by(LabelRow.id)
    if stores is not None:
        statement = statement.where(LabelRow.store.in_(stores))
    if label_ids is not None:
        # The ids in chunks (a publication's labels may pass PostgreSQL's 65,535
        # parameters), the chain-wide reads above once.
        rows: Iterable[Any] = (
            row
            for chunk in in_chunks(sorted(label_ids))
            for row in session.execute(statement.where(LabelRow.id.in_(chunk)))
        )
    else:
        # A retired label (broken, thrown away) is no store's label any more; asked for
        # by id (`esl label show`) it is still described.
        rows = session.execute(statement.where(LabelRow.retired_at.is_(None)))
    for (
        label_id,
        store,
        gateway,
        desired,
        confirmed,
        display_at,
        last_seen,
        battery,
        desired_key,
        displayed,
        clock_offset_ms,
        unplanned_reason,
        held_display_at,
    ) in rows:
        condition = classify_label_status(
            DeliveryFacts(
                label_id in bound,
                desired,
                confirmed,
                display_at,
                open_status.get(label_id, ()),
                parked.get(label_id, (None, None))[0],
                last_seen,
                battery,
                (store, gateway) not in offline_gateways,
                parked.get(label_id, (None, None))[1],
                desired_key is not None,
                displayed,
                clock_offset_ms,
                unplanned_reason,
                held_display_at,
            ),
            now=now,
            thresholds=thresholds,
        )
        yield LabelConditionRow(label_id, store, condition, battery, last_seen)
