"""Battery and signal over time: what labels reported, sampled (`esl.pipeline.label_vitals`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer
from sqlalchemy.orm import Mapped, mapped_column

from esl.db.models import Base, Serial
from esl.db.types import UtcDateTime

__all__ = ["LabelVitalsRow"]


class LabelVitalsRow(Base):
    """One sample of a label's health as it reported it: at most one per label per
    `ESL_LABEL_VITALS_EVERY_S`, kept `ESL_LABEL_VITALS_KEEP_DAYS` (append-only)."""

    __tablename__ = "label_vitals"
    __table_args__ = (Index("ix_label_vitals_label_at", "label_id", "at"),)

    id: Mapped[int] = mapped_column(Serial, primary_key=True, autoincrement=True)
    label_id: Mapped[str] = mapped_column(ForeignKey("labels.id"))
    at: Mapped[datetime] = mapped_column(UtcDateTime())  # when the controller heard it
    battery_mv: Mapped[int] = mapped_column(Integer)
    rssi_dbm: Mapped[int] = mapped_column(Integer)
    # Link quality 0..255 where the transport reports one (BLE, simulated labels).
    lqi: Mapped[int | None] = mapped_column(Integer)
