"""A label's battery and signal over time, as the controller sampled them
(`esl.pipeline.label_vitals`), and what they say in a sentence: the last value, the
lowest, the trend, against the low-battery threshold."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from esl.db.models import LabelRow
from esl.db.repositories.rows import row_or_not_found
from esl.db.vitals_models import LabelVitalsRow
from esl.services.keys import Principal
from esl.services.labels import require_store_access

__all__ = ["RECENT", "Trend", "VitalSample", "VitalsSummary", "label_vitals", "summarise_vitals"]

# What "over time" shows unless asked otherwise (the label page, the API without `since`).
RECENT = timedelta(days=30)
# A battery reading moves this much between two reports without the cell changing
# (ADC noise, temperature): less is "steady".
STEADY_MV = 20


@dataclass(frozen=True, slots=True)
class VitalSample:
    at: datetime
    battery_mv: int
    rssi_dbm: int
    lqi: int | None


def label_vitals(
    session: Session, *, principal: Principal, label_id: str, since: datetime, limit: int
) -> list[VitalSample]:
    """The label's samples from `since` on, oldest first: the newest `limit` of them
    (store keys: their own store's labels only)."""
    label = row_or_not_found(session, LabelRow, label_id, "label")
    require_store_access(principal, label.store)
    vitals = LabelVitalsRow
    rows = session.execute(
        select(vitals.at, vitals.battery_mv, vitals.rssi_dbm, vitals.lqi)
        .where(LabelVitalsRow.label_id == label_id, LabelVitalsRow.at >= since)
        .order_by(LabelVitalsRow.at.desc(), LabelVitalsRow.id.desc())
        .limit(limit)
    ).all()
    return [VitalSample(at, battery, rssi, lqi) for at, battery, rssi, lqi in reversed(rows)]


class Trend(StrEnum):
    FALLING = "falling"
    STEADY = "steady"
    RISING = "rising"  # a battery changed, or warmer


@dataclass(frozen=True, slots=True)
class VitalsSummary:
    """What the samples say, for a sentence and a screen reader."""

    last: VitalSample
    first: VitalSample
    lowest_mv: int
    weakest_dbm: int
    strongest_dbm: int
    trend: Trend
    low: bool  # the last battery reading is under the low-battery threshold

    @property
    def change_mv(self) -> int:
        return self.last.battery_mv - self.first.battery_mv


def summarise_vitals(samples: list[VitalSample], *, low_battery_mv: int) -> VitalsSummary | None:
    """None when there is no sample."""
    if not samples:
        return None
    first, last = samples[0], samples[-1]
    change = last.battery_mv - first.battery_mv
    trend = Trend.STEADY
    if change <= -STEADY_MV:
        trend = Trend.FALLING
    elif change >= STEADY_MV:
        trend = Trend.RISING
    return VitalsSummary(
        last=last,
        first=first,
        lowest_mv=min(s.battery_mv for s in samples),
        weakest_dbm=min(s.rssi_dbm for s in samples),
        strongest_dbm=max(s.rssi_dbm for s in samples),
        trend=trend,
        low=last.battery_mv < low_battery_mv,
    )
