"""Which controller runs the pipeline on this database (one row, renewed while it runs)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from esl.db.models import Base
from esl.db.types import UtcDateTime

__all__ = ["ControllerLeaseRow"]


class ControllerLeaseRow(Base):
    __tablename__ = "controller_leases"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)  # "controller"
    holder: Mapped[str] = mapped_column(String(64))  # the running controller's own id
    pid: Mapped[int] = mapped_column(Integer)
    host: Mapped[str] = mapped_column(String(255))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # Renewed while the holder runs; older than the stale bound, anyone may take over.
    heartbeat_at: Mapped[datetime] = mapped_column(UtcDateTime())
