"""What `esl workers` and /metrics say about the workers sharing the stores: who holds
which store, since when, how fresh its heartbeat is, and how far behind each store is
(frames waiting to be sent or answered, and the age of the oldest due one)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from esl.db.lease_models import StoreLeaseRow, WorkerRow
from esl.db.models import OutboxRow
from esl.delivery_states import OutboxStatus

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


def workers_overview(
    session: Session, *, now: datetime
) -> tuple[list[WorkerView], list[StoreView]]:
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
                held_for_s=_age(now, lease.taken_at),
                heartbeat_age_s=_age(now, lease.heartbeat_at),
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
            heartbeat_age_s=_age(now, worker.heartbeat_at) or 0.0,
            acknowledged=worker.acknowledged,
            stores=tuple(lease.store for lease in leases if lease.holder == worker.holder),
        )
        for worker in workers
    ]
    return views, stores


def _age(now: datetime, since: datetime | None) -> float | None:
    return None if since is None else round((now - since).total_seconds(), 3)
