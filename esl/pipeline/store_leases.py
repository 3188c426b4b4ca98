"""Several workers share the stores of one PostgreSQL database: a lease per store.

Every `esl run` on PostgreSQL is a worker. It registers itself in `controller_workers`
and, every `renew_every`, on a thread of its own (so a long planning pass delays neither
its renewal nor a takeover), in one transaction (`balance_stores`):

- renews its heartbeat and the leases of the stores it holds;
- counts the live workers (heartbeat younger than `stale_after`); its fair share is
  ceil(stores / live workers);
- holding more than that (a worker joined), it releases the surplus (the stores last in
  order), which the newcomer takes at its next look;
- holding fewer, it takes free stores and stores whose holder went silent for
  `stale_after` (killed), with `SELECT ... FOR UPDATE SKIP LOCKED`: two workers looking
  at once take different stores, neither waits for the other.

A store is dispatched, settled and planned only by its holder. A worker that lost a
store (released, or taken over while it was stalled) learns it at its next renewal
and stops touching it; the frames it had in flight are sent again by the new holder
(`Dispatcher.follow_stores`), so duplicates are bounded by the in-flight window and
nothing is lost. PostgreSQL only: SQLite keeps one controller (`controller_lease`).

Between a takeover and that renewal the worker may still be planning the store (stalled
past the stale bound mid-pass, with prices it read before a newer publication). So a
planning transaction is fenced (`stores_held`): before it commits it reads the leases
of the stores it wrote for `FOR SHARE`, holder = this worker. A takeover's `UPDATE` of
one of them waits for that commit; a takeover committed before leaves the store out,
and the transaction is rolled back instead of superseding the new holder's frames.
It checks the worker's tenure as well (the lease's `taken_at` when it took the store, a
fencing token): a store lost and taken back while the transaction ran is held again, but
under a new tenure, and the transaction is rolled back too.

Every lease instant (heartbeats, taken at) is the database's clock, not the worker's
host's (`esl/pipeline/database_clock.py`): each balance measures its host's offset,
records it on the worker's row (`esl workers` shows it), and logs a host off by more
than `HOST_CLOCK_TOLERANCE`. Before, a host 9 s ahead took every store from a live
worker renewing every 2 s (stale after 10 s).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from esl.db.lease_models import StoreLeaseRow, WorkerRow
from esl.db.models import StoreRow
from esl.pipeline.controller_lease import ControllerIdentity, LeaseTerms
from esl.pipeline.database_clock import (
    HOST_CLOCK_TOLERANCE,
    WallClock,
    host_clock_offset,
    in_database_time,
)

__all__ = [
    "StoreLeaseTerms",
    "StoresLost",
    "balance_stores",
    "leave",
    "record_acknowledged",
    "stores_held",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class StoreLeaseTerms(LeaseTerms):
    """The controller lease's terms, checked the same way, with shorter defaults: a store
    whose worker died waits for `stale_after` before another worker takes it over."""

    stale_after: timedelta = timedelta(seconds=10)
    renew_every: timedelta = timedelta(seconds=2)


class StoresLost(Exception):  # noqa: N818 - a signal, not an error: rolls a transaction back
    """A fenced transaction found `stores` taken over by another worker."""

    def __init__(self, stores: frozenset[str]) -> None:
        super().__init__(sorted(stores))
        self.stores = stores


def balance_stores(
    session: Session,
    identity: ControllerIdentity,
    *,
    now: datetime,
    terms: StoreLeaseTerms,
    wall: WallClock = time.time,
    taken: set[str] | None = None,
    tenures: dict[str, datetime] | None = None,
) -> frozenset[str]:
    """Renew, release the surplus, take a fair share; the stores this worker holds now.

    `now` is this worker's clock; `wall` its host's real one, to measure how far that
    host is from the database's clock, in which every lease instant is written and
    compared (`esl/pipeline/database_clock.py`). `taken`, when given, gets the stores
    this balance took (not renewed): one the worker still counts as its own was lost
    and given back since its last balance (a stall past the stale bound). `tenures`,
    when given, gets the `taken_at` of each store held: the tenure a fence checks
    (`stores_held`)."""
    offset = host_clock_offset(session, wall=wall)
    now = in_database_time(now, offset)
    _heartbeat(session, identity, now=now, offset=offset)
    stale_before = now - terms.stale_after
    # Every store has a lease row; a store added since the last look gets a free one.
    # Only the missing ones are inserted: a conflict with a row another worker is
    # taking would wait for its transaction.
    session.execute(
        insert(StoreLeaseRow)
        .from_select(
            ["store"],
            select(StoreRow.code).where(
                ~select(StoreLeaseRow.store).where(StoreLeaseRow.store == StoreRow.code).exists()
            ),
        )
        .on_conflict_do_nothing(index_elements=["store"])
    )
    workers = session.scalar(
        select(func.count()).select_from(WorkerRow).where(WorkerRow.heartbeat_at >= stale_before)
    )
    stores = session.scalar(select(func.count()).select_from(StoreLeaseRow)) or 0
    fair = math.ceil(stores / max(workers or 1, 1))
    # Its rows locked in store order first, as a fence reads them (`stores_held`): a
    # renewal and a planning transaction's fence on two of its stores never wait on each
    # other in a circle (an UPDATE locks rows in no set order).
    session.execute(
        select(StoreLeaseRow.store)
        .where(StoreLeaseRow.holder == identity.holder)
        .order_by(StoreLeaseRow.store)
        .with_for_update()
    )
    renewed = dict(
        session.execute(
            update(StoreLeaseRow)
            .where(StoreLeaseRow.holder == identity.holder)
            .values(heartbeat_at=now)
            .returning(StoreLeaseRow.store, StoreLeaseRow.taken_at)
        ).all()
    )
    held = sorted(renewed)
    if tenures is not None:
        tenures.update({store: at for store, at in renewed.items() if at is not None})
    if len(held) > fair:
        surplus = held[fair:]
        session.execute(
            update(StoreLeaseRow)
            .where(StoreLeaseRow.store.in_(surplus), StoreLeaseRow.holder == identity.holder)
            .values(holder=None, taken_at=None, heartbeat_at=None)
        )
        return frozenset(held[:fair])
    if len(held) < fair:
        free = list(
            session.scalars(
                select(StoreLeaseRow.store)
                .where(
                    (StoreLeaseRow.holder.is_(None)) | (StoreLeaseRow.heartbeat_at < stale_before)
                )
                .order_by(StoreLeaseRow.store)
                .limit(fair - len(held))
                .with_for_update(skip_locked=True)
            )
        )
        if free:
            session.execute(
                update(StoreLeaseRow)
                .where(StoreLeaseRow.store.in_(free))
                .values(holder=identity.holder, taken_at=now, heartbeat_at=now)
            )
            held += free
            if taken is not None:
                taken.update(free)
            if tenures is not None:
                tenures.update(dict.fromkeys(free, now))
    # Workers silent for long are forgotten (their stores were taken as stale above).
    session.execute(delete(WorkerRow).where(WorkerRow.heartbeat_at < now - 10 * terms.stale_after))
    return frozenset(held)


def stores_held(
    session: Session,
    identity: ControllerIdentity,
    stores: Collection[str],
    tenures: Mapping[str, datetime] | None = None,
) -> frozenset[str]:
    """Of `stores`, those whose lease `identity` holds, their lease rows locked
    `FOR SHARE` until the transaction ends: the fence of a transaction writing for them.
    With `tenures` (a fencing token: the `taken_at` of the lease this worker took, by
    store), only those it holds under that tenure: a lease lost and taken back since
    (its transaction stalled across the whole takeover) is a new tenure, and not held.

    Until it commits, no takeover can change those leases (its `UPDATE` waits, its
    `FOR UPDATE SKIP LOCKED` passes them by); a store whose takeover committed first is
    not among them (PostgreSQL reads the row again once its writer has committed). Taken
    last in the transaction, so the leases are locked only for its commit."""
    if not stores:
        return frozenset()
    leases = session.execute(
        select(StoreLeaseRow.store, StoreLeaseRow.taken_at)
        .where(StoreLeaseRow.store.in_(sorted(stores)), StoreLeaseRow.holder == identity.holder)
        .order_by(StoreLeaseRow.store)
        .with_for_update(read=True)
    )
    return frozenset(
        store for store, taken_at in leases if tenures is None or tenures.get(store) == taken_at
    )


def record_acknowledged(session: Session, identity: ControllerIdentity, count: int) -> None:
    """Add `count` acknowledged frames to this worker's tally (`esl workers`, /metrics)."""
    if count:
        session.execute(
            update(WorkerRow)
            .where(WorkerRow.holder == identity.holder)
            .values(acknowledged=WorkerRow.acknowledged + count)
        )


def leave(session: Session, identity: ControllerIdentity) -> None:
    """A worker stopping: its stores are free at once, not after `stale_after`."""
    session.execute(
        update(StoreLeaseRow)
        .where(StoreLeaseRow.holder == identity.holder)
        .values(holder=None, taken_at=None, heartbeat_at=None)
    )
    session.execute(delete(WorkerRow).where(WorkerRow.holder == identity.holder))


def _heartbeat(
    session: Session, identity: ControllerIdentity, *, now: datetime, offset: timedelta
) -> None:
    offset_ms = round(offset / timedelta(milliseconds=1))
    before = session.scalar(
        select(WorkerRow.clock_offset_ms).where(WorkerRow.holder == identity.holder)
    )
    _say_when_the_host_clock_goes_off(identity, before_ms=before, offset_ms=offset_ms)
    session.execute(
        insert(WorkerRow)
        .values(
            holder=identity.holder,
            pid=identity.pid,
            host=identity.host,
            mqtt_client_id=identity.mqtt_client_id,
            started_at=identity.started_at,
            heartbeat_at=now,
            acknowledged=0,
            clock_offset_ms=offset_ms,
        )
        .on_conflict_do_update(
            index_elements=["holder"], set_={"heartbeat_at": now, "clock_offset_ms": offset_ms}
        )
    )


def _say_when_the_host_clock_goes_off(
    identity: ControllerIdentity, *, before_ms: int | None, offset_ms: int
) -> None:
    """A warning when this host's clock goes off the database's (or starts off), a note
    when it is back: once each, not at every balance."""
    tolerance_ms = HOST_CLOCK_TOLERANCE / timedelta(milliseconds=1)
    was_off = before_ms is not None and abs(before_ms) > tolerance_ms
    if abs(offset_ms) > tolerance_ms and not was_off:
        log.warning(
            "the clock of this host (%s) is %.1f s %s the database's: leases use the "
            "database's clock, but label flips and ledger instants use this host's; "
            "fix its NTP",
            identity.host,
            abs(offset_ms) / 1000,
            "ahead of" if offset_ms > 0 else "behind",
        )
    elif was_off and abs(offset_ms) <= tolerance_ms:
        log.info(
            "the clock of this host (%s) agrees with the database's again (%+.1f s)",
            identity.host,
            offset_ms / 1000,
        )
