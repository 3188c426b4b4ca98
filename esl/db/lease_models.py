"""Which controller runs the pipeline on this database (one row, renewed while it runs)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from esl.db.models import Base
from esl.db.types import UtcDateTime

__all__ = ["ControllerLeaseRow", "PlannedPublicationStoreRow", "StoreLeaseRow", "WorkerRow"]


class ControllerLeaseRow(Base):
    __tablename__ = "controller_leases"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)  # "controller"
    holder: Mapped[str] = mapped_column(String(64))  # the running controller's own id
    pid: Mapped[int] = mapped_column(Integer)
    host: Mapped[str] = mapped_column(String(255))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # Renewed while the holder runs, on the database's clock (esl/pipeline/database_clock.py);
    # older than the stale bound, anyone may take over.
    heartbeat_at: Mapped[datetime] = mapped_column(UtcDateTime())


class WorkerRow(Base):
    """A running `esl run` worker on PostgreSQL (several share the stores)."""

    __tablename__ = "controller_workers"

    holder: Mapped[str] = mapped_column(String(64), primary_key=True)
    pid: Mapped[int] = mapped_column(Integer)
    host: Mapped[str] = mapped_column(String(255))
    mqtt_client_id: Mapped[str] = mapped_column(String(128))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # Renewed with its stores, on the database's clock; older than the stale bound, the
    # worker is counted out.
    heartbeat_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # Frames this worker saw acknowledged since it started (for `esl workers`, /metrics).
    acknowledged: Mapped[int] = mapped_column(Integer, default=0)
    # Its host's clock minus the database's at its last balance (positive: ahead), in
    # milliseconds; NULL: a worker from before migration 0030. Leases use the database's
    # clock; `esl workers` names a host off by more than a few seconds.
    clock_offset_ms: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class StoreLeaseRow(Base):
    """Which worker dispatches a store's outbox; no holder: free to take."""

    __tablename__ = "store_leases"

    store: Mapped[str] = mapped_column(String(32), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    taken_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class PlannedPublicationStoreRow(Base):
    """A publication planned for one store's labels (workers split planning by store)."""

    __tablename__ = "planned_publication_stores"

    publication_id: Mapped[int] = mapped_column(
        ForeignKey("publications.id", ondelete="CASCADE"), primary_key=True
    )
    store: Mapped[str] = mapped_column(String(32), primary_key=True)
    planned_at: Mapped[datetime] = mapped_column(UtcDateTime())
    labels: Mapped[int] = mapped_column(Integer)
