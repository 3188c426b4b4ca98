"""Security events as health reports them: per store, how many and of which kind, recently.

The pipeline writes them (`esl.pipeline.security_events`): forged answers and frames the
controller signed that reached a label altered. One is evidence that someone on the path
between the controller and a label (a store gateway, a client holding its credential, the
broker) forges or alters traffic; the update itself is retried, so health says so even
when every shelf is right.

An event is its topic's store's (`store`: where it came from) and its label's store's
(`label_store`). Asked for stores, both count; a store key (`own_stores`) reads an event
of another store's label on its topic without that label: its id, store, sequences and
details are the other store's (docs/api.md), and that store reads it in full.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from esl.db.models import SecurityEventRow
from esl.pipeline.security_events import SecurityEventKind

__all__ = [
    "ANOTHER_STORES_LABEL",
    "SECURITY_WINDOW",
    "SecurityEventOut",
    "StoreSecurity",
    "recent_security_events",
    "security_summary",
]

SECURITY_WINDOW = timedelta(hours=24)
# What a store reads of an event of another store's label in place of its detail.
ANOTHER_STORES_LABEL = "a label of another store"


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
    # The store of the registered label it names (None: none known, or a row from before
    # migration 0038, or a label of another store told to a store key).
    label_store: str | None = None

    def told_to(self, own_stores: Collection[str] | None) -> SecurityEventOut:
        """The event as a key of `own_stores` reads it (None: every store): an event of
        another store's label on one of its topics, without that label."""
        if own_stores is None:
            return self
        if self.label_store is None:
            # A row from before migration 0038 kept no label's store; an answer via
            # another store names a label of a store other than its topic's all the same.
            theirs = self.kind == SecurityEventKind.OTHER_STORE.value
        else:
            theirs = self.label_store not in own_stores
        if not theirs:
            return self
        return replace(
            self,
            label_id=None,
            label_store=None,
            sequence=None,
            last_sequence=None,
            detail=ANOTHER_STORES_LABEL,
            last_detail=None if self.last_detail is None else ANOTHER_STORES_LABEL,
        )


def _since(session: Session, since: datetime, stores: list[str] | None) -> list[SecurityEventRow]:
    # A row whose repeats reach into the window counts: its last event is recent.
    statement = select(SecurityEventRow).where(
        or_(SecurityEventRow.at >= since, SecurityEventRow.last_at >= since)
    )
    if stores is not None:
        # The stores' own events, and those of their labels on other stores' topics.
        statement = statement.where(
            or_(SecurityEventRow.store.in_(stores), SecurityEventRow.label_store.in_(stores))
        )
    return list(session.scalars(statement.order_by(SecurityEventRow.id)))


def security_summary(
    session: Session,
    *,
    now: datetime,
    stores: list[str] | None = None,
    window: timedelta = SECURITY_WINDOW,
) -> list[StoreSecurity]:
    """Per store with events in the `window` before `now`: counts by kind, the last one.
    An event counts under the store it came on; asked for `stores`, those of their labels
    on another store's topic count too (under that store)."""
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
    own_stores: Collection[str] | None = None,
) -> list[SecurityEventOut]:
    """The newest events of the `window`, newest first, at most `limit`, as a key of
    `own_stores` reads them (None: one that reads every store; `SecurityEventOut.told_to`)."""
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
            label_store=row.label_store,
        ).told_to(own_stores)
        for row in reversed(rows)
    ]
