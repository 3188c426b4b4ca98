"""What `esl workers` and /metrics say about the workers sharing the stores: who holds
which store, since when, how fresh its heartbeat is, and how far behind each store is
(frames waiting to be sent or answered, and the age of the oldest due one), and each
worker's host clock offset from the database's.

Lease ages are read on the database's clock, in which the leases are written
(esl/pipeline/database_clock.py); a store's lag on the reader's, as frames are due on
the hosts' clocks."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from esl.db.lease_models import StoreLeaseRow, WorkerRow
from esl.db.models import OutboxRow
from esl.delivery_states import OutboxStatus
from esl.pipeline.database_clock import (
    HOST_CLOCK_TOLERANCE,
    WallClock,
    host_clock_offset,
    in_database_time,
)

__all__ = ["StoreView", "WorkerView", "workers_overview"]


@dataclass(frozen=True, slots=True)
class StoreView:
    store: str
    holder: str | None  # the worker's MQTT client id; None: free (or its worker unknown)
    held_for_s: float | None  # since the lease was taken
    heartbeat_age_s: float | None
    open_frames: int  # pending or sent
    lag_s: float  # the oldest frame due and not sent yet, waiting this long (0: none)


@dataclass(frozen=True, slots=True)
class WorkerView:
    client_id: str
    pid: int
    host: str
    started_at: datetime
    heartbeat_age_s: float
    acknowledged: int
    stores: tuple[str, ...]
    # Its host's clock minus the database's at its last balance (None: not measured).
    clock_offset_s: float | None = None

    @property
    def clock_off(self) -> bool:
        """Off by more than `HOST_CLOCK_TOLERANCE`: its host's NTP needs fixing."""
        return (
            self.clock_offset_s is not None
            and abs(self.clock_offset_s) > HOST_CLOCK_TOLERANCE.total_seconds()
        )


def workers_overview(
    session: Session, *, now: datetime, wall: WallClock = time.time
) -> tuple[list[WorkerView], list[StoreView]]:
    """`now` is the reader's clock, `wall` its host's (`database_clock`)."""
    lease_now = in_database_time(now, host_clock_offset(session, wall=wall))
    workers = list(session.scalars(select(WorkerRow).order_by(WorkerRow.started_at)))
    client_of = {worker.holder: worker.mqtt_client_id for worker in workers}
    leases = list(session.scalars(select(StoreLeaseRow).order_by(StoreLeaseRow.store)))
    open_rows = {
        store: (count, oldest)
        for store, count, oldest in session.execute(
            select(
                OutboxRow.store,
                func.count(),
                # Only a pending frame already due is late; a sent one waits for its answer.
                func.min(OutboxRow.not_before).filter(
                    OutboxRow.status == OutboxStatus.PENDING.value
                ),
            )
            .where(OutboxRow.status.in_((OutboxStatus.PENDING.value, OutboxStatus.SENT.value)))
            .group_by(OutboxRow.store)
        )
    }
    stores = []
    for lease in leases:
        count, oldest = open_rows.get(lease.store, (0, None))
        stores.append(
            StoreView(
                store=lease.store,
                holder=client_of.get(lease.holder) if lease.holder else None,
                held_for_s=_age(lease_now, lease.taken_at),
                heartbeat_age_s=_age(lease_now, lease.heartbeat_at),
                open_frames=count,
                lag_s=max(_age(now, oldest) or 0.0, 0.0),
            )
        )
    views = [
        WorkerView(
            client_id=worker.mqtt_client_id,
            pid=worker.pid,
            host=worker.host,
            started_at=worker.started_at,
            heartbeat_age_s=_age(lease_now, worker.heartbeat_at) or 0.0,
            acknowledged=worker.acknowledged,
            stores=tuple(lease.store for lease in leases if lease.holder == worker.holder),
            clock_offset_s=None
            if worker.clock_offset_ms is None
            else worker.clock_offset_ms / 1000,
        )
        for worker in workers
    ]
    return views, stores


def _age(now: datetime, since: datetime | None) -> float | None:
    return None if since is None else round((now - since).total_seconds(), 3)
