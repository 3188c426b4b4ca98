"""The label page's battery chart: the threshold always in view, a fall drawn as a fall,
one sample drawn at all, and the same said in words."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from esl.services.label_vitals import VitalSample, summarise_vitals
from esl.ui.vitals_chart import battery_sentence, line_chart

T = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def _heights(points: str) -> list[float]:
    return [float(point.split(",")[1]) for point in points.split()]


def test_a_fall_below_the_threshold_is_drawn_and_said() -> None:
    batteries = [2_950, 2_800, 2_650, 2_540]
    series = [(T + timedelta(days=i), mv) for i, mv in enumerate(batteries)]
    chart = line_chart(
        series, unit="mV", step=100, threshold=2_600, threshold_text="low", zone="UTC"
    )
    assert chart is not None
    heights = _heights(chart.points)
    assert heights == sorted(heights)  # each lower on the page than the one before
    assert chart.threshold_y is not None
    assert heights[0] < chart.threshold_y < heights[-1]
    assert chart.plot_top <= min(heights)
    assert max(heights) <= chart.plot_bottom
    assert [label.text for label in chart.labels] == [
        "3000 mV",
        "2500 mV",
        "03 Dec 2026",
        "06 Dec 2026",
    ]
    samples = [VitalSample(at, mv, -70, 90) for at, mv in series]
    summary = summarise_vitals(samples, low_battery_mv=2_600)
    assert summary is not None
    assert battery_sentence(summary, low_battery_mv=2_600, samples=4, zone="UTC") == (
        "Battery now 2540 mV, low (under 2600 mV); lowest 2540 mV; falling by 410 mV "
        "since 2026-12-03 09:00 (+00:00) (4 samples)."
    )


def test_a_full_battery_keeps_the_threshold_in_view_and_one_sample_is_drawn() -> None:
    chart = line_chart([(T, 3_000)], unit="mV", step=100, threshold=2_600, zone="UTC")
    assert chart is not None
    assert chart.threshold_y is not None
    assert chart.plot_top <= chart.threshold_y <= chart.plot_bottom
    assert chart.last_x == (chart.plot_left + chart.plot_right) / 2
    assert line_chart([], unit="mV", step=100, zone="UTC") is None
    summary = summarise_vitals([VitalSample(T, 3_000, -60, 200)], low_battery_mv=2_600)
    assert summary is not None
    assert battery_sentence(summary, low_battery_mv=2_600, samples=1, zone="UTC").startswith(
        "Battery now 3000 mV (low is under 2600 mV); lowest 3000 mV; steady since"
    )


def test_the_chart_and_its_words_read_on_the_chains_clock() -> None:
    # Heard from 23:30 UTC on a winter night to 00:30 UTC: on a Warsaw clock, from
    # half past midnight to half past one, the next day.
    start = datetime(2026, 12, 3, 23, 30, tzinfo=UTC)
    series = [(start, 2_900), (start + timedelta(minutes=30), 2_890)]
    series.append((start + timedelta(hours=1), 2_880))
    chart = line_chart(series, unit="mV", step=100, zone="Europe/Warsaw")
    assert chart is not None
    assert [label.text for label in chart.labels][2:] == ["04 Dec 00:30", "04 Dec 01:30"]
    samples = [VitalSample(at, mv, -70, 90) for at, mv in series]
    summary = summarise_vitals(samples, low_battery_mv=2_600)
    assert summary is not None
    assert "since 2026-12-04 00:30 (+01:00) (3 samples)" in battery_sentence(
        summary, low_battery_mv=2_600, samples=3, zone="Europe/Warsaw"
    )
