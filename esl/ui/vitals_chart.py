"""Battery and signal over time as server-drawn SVG (no script, no build step): the
geometry of a line chart, in the chart's own coordinates, for `_vitals.html` to draw.

The page says in words what the chart shows (last value, lowest, trend, threshold), so
the picture is never the only way to read it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from esl.local_times import shown_time
from esl.services.label_vitals import Trend, VitalsSummary

__all__ = ["LineChart", "battery_sentence", "line_chart", "signal_sentence"]

WIDTH = 600
HEIGHT = 150
_LEFT, _RIGHT, _TOP, _BOTTOM = 64, 12, 10, 26  # room for the axis labels


@dataclass(frozen=True, slots=True)
class AxisLabel:
    x: float
    y: float
    text: str
    anchor: str = "end"  # SVG text-anchor


@dataclass(frozen=True, slots=True)
class LineChart:
    width: int
    height: int
    points: str  # the polyline's "x,y x,y ..."
    last_x: float
    last_y: float
    plot_left: float
    plot_right: float
    plot_top: float
    plot_bottom: float
    labels: tuple[AxisLabel, ...]
    threshold_y: float | None = None
    threshold_label: str = ""


def line_chart(
    series: Sequence[tuple[datetime, int]],
    *,
    unit: str,
    step: int,
    threshold: int | None = None,
    threshold_text: str = "",
    zone: str,
) -> LineChart | None:
    """A chart of `series` (instant, value), oldest first; the value axis in whole
    `step`s around the values (and the threshold, which is always in view); the time
    axis read on a clock in `zone` (the chain's). None for no values."""
    if not series:
        return None
    values = [value for _, value in series]
    lowest = min([*values, threshold] if threshold is not None else values)
    highest = max([*values, threshold] if threshold is not None else values)
    bottom_value = math.floor(lowest / step) * step
    top_value = math.ceil(highest / step) * step
    if top_value == bottom_value:
        top_value += step
    left, right = _LEFT, WIDTH - _RIGHT
    top, bottom = _TOP, HEIGHT - _BOTTOM
    first_at, last_at = series[0][0], series[-1][0]
    span = (last_at - first_at).total_seconds()

    def x_of(at: datetime) -> float:
        if span <= 0:
            return (left + right) / 2  # one instant: in the middle
        return left + (right - left) * (at - first_at).total_seconds() / span

    def y_of(value: int) -> float:
        return bottom - (bottom - top) * (value - bottom_value) / (top_value - bottom_value)

    points = " ".join(f"{x_of(at):.1f},{y_of(value):.1f}" for at, value in series)
    labels = [
        AxisLabel(left - 6, top + 4, f"{top_value} {unit}"),
        AxisLabel(left - 6, bottom + 4, f"{bottom_value} {unit}"),
        AxisLabel(left, HEIGHT - 8, _short(first_at, span, zone), "start"),
    ]
    if span > 0:
        labels.append(AxisLabel(right, HEIGHT - 8, _short(last_at, span, zone), "end"))
    return LineChart(
        width=WIDTH,
        height=HEIGHT,
        points=points,
        last_x=x_of(last_at),
        last_y=y_of(values[-1]),
        plot_left=left,
        plot_right=right,
        plot_top=top,
        plot_bottom=bottom,
        labels=tuple(labels),
        threshold_y=None if threshold is None else y_of(threshold),
        threshold_label=threshold_text,
    )


def _short(at: datetime, span_s: float, zone: str) -> str:
    """An instant on the time axis, as precise as the span needs, as a clock in `zone`
    shows it (the sentence beside the chart gives the offset)."""
    at = at.astimezone(ZoneInfo(zone))
    if span_s < 3_600:
        return at.strftime("%H:%M:%S")
    if span_s < 3 * 86_400:
        return at.strftime("%d %b %H:%M")
    return at.strftime("%d %b %Y")


def battery_sentence(
    summary: VitalsSummary, *, low_battery_mv: int, samples: int, zone: str
) -> str:
    """The battery chart in words: last value, against the threshold, lowest, trend, and
    since when, on a clock in `zone` (the chain's) with its offset."""
    now = f"Battery now {summary.last.battery_mv} mV"
    if summary.low:
        now += f", low (under {low_battery_mv} mV)"
    else:
        now += f" (low is under {low_battery_mv} mV)"
    trend = {
        Trend.FALLING: f"falling by {-summary.change_mv} mV",
        Trend.RISING: f"rising by {summary.change_mv} mV",
        Trend.STEADY: "steady",
    }[summary.trend]
    since = shown_time(summary.first.at, zone)
    return f"{now}; lowest {summary.lowest_mv} mV; {trend} since {since} ({samples} samples)."


def signal_sentence(summary: VitalsSummary) -> str:
    return (
        f"Signal now {summary.last.rssi_dbm} dBm; between {summary.weakest_dbm} "
        f"and {summary.strongest_dbm} dBm over the same time."
    )
