"""Security events as health reports them: per store, how many and of which kind, recently.

The pipeline writes them (`esl.pipeline.security_events`): forged answers and frames the
controller signed that reached a label altered. One is evidence that someone on the path
between the controller and a label (a store gateway, a client holding its credential, the
broker) forges or alters traffic; the update itself is retried, so health says so even
when every shelf is right.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from esl.db.models import SecurityEventRow

__all__ = [
    "SECURITY_WINDOW",
    "SecurityEventOut",
    "StoreSecurity",
    "recent_security_events",
    "security_summary",
]

SECURITY_WINDOW = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class StoreSecurity:
    store: str
    events: int
    kinds: dict[str, int] = field(default_factory=dict)
    last_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class SecurityEventOut:
    at: datetime
    kind: str
    store: str | None
    gateway: str | None
    label_id: str | None
    sequence: int | None
    detail: str
    # More events of this store, label and kind folded into this one, the last at `last_at`
    # with its own sequence and detail (None: a row from before they were kept, 0025).
    repeats: int = 0
    last_at: datetime | None = None
    last_sequence: int | None = None
    last_detail: str | None = None


def _since(session: Session, since: datetime, stores: list[str] | None) -> list[SecurityEventRow]:
    # A row whose repeats reach into the window counts: its last event is recent.
    statement = select(SecurityEventRow).where(
        or_(SecurityEventRow.at >= since, SecurityEventRow.last_at >= since)
    )
    if stores is not None:
        statement = statement.where(SecurityEventRow.store.in_(stores))
    return list(session.scalars(statement.order_by(SecurityEventRow.id)))


def security_summary(
    session: Session,
    *,
    now: datetime,
    stores: list[str] | None = None,
    window: timedelta = SECURITY_WINDOW,
) -> list[StoreSecurity]:
    """Per store with events in the `window` before `now`: counts by kind, the last one."""
    kinds: dict[str, Counter[str]] = defaultdict(Counter)
    last: dict[str, datetime] = {}
    for row in _since(session, now - window, stores):
        store = row.store or "?"
        kinds[store][row.kind] += 1 + row.repeats
        at = max(row.at, row.last_at or row.at)
        last[store] = max(last.get(store, at), at)
    return [
        StoreSecurity(
            store=store,
            events=sum(counter.values()),
            kinds=dict(counter),
            last_at=last[store],
        )
        for store, counter in sorted(kinds.items())
    ]


def recent_security_events(
    session: Session,
    *,
    now: datetime,
    stores: list[str] | None = None,
    window: timedelta = SECURITY_WINDOW,
    limit: int = 100,
) -> list[SecurityEventOut]:
    """The newest events of the `window`, newest first, at most `limit`."""
    rows = _since(session, now - window, stores)[-limit:]
    return [
        SecurityEventOut(
            at=row.at,
            kind=row.kind,
            store=row.store,
            gateway=row.gateway,
            label_id=row.label_id,
            sequence=row.sequence,
            detail=row.detail,
            repeats=row.repeats,
            last_at=row.last_at or row.at,
            last_sequence=row.last_sequence,
            last_detail=row.last_detail,
        )
        for row in reversed(rows)
    ]
