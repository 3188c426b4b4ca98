"""Battery and signal over time, in a real browser against the running chain: a simulated
label whose battery falls over a few reports shows the fall on its page (without a
reload), in the API, and the store overview counts it as low battery."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.ui.console_world import ConsoleWorld, sign_in

WEAKENING = "WAW-01-gw1-00002"  # no other browser test looks at it
LOW_BATTERY_MV = 2_600  # ESL_LABEL_LOW_BATTERY_MV's default, the world's setting


def _batteries(page: Page, world: ConsoleWorld) -> list[int]:
    answer = page.request.get(
        f"{world.url}/api/v1/labels/{WEAKENING}/vitals",
        headers={"X-API-Key": world.keys["admin"]},
    )
    assert answer.status == 200, answer.text()
    return [sample["battery_mv"] for sample in answer.json()["samples"]]


def _near(reported: int, set_to: int) -> bool:
    # The label drains a little between being set and reporting (its radio, a refresh).
    return set_to - 5 < reported <= set_to


def test_a_falling_battery_shows_on_the_page_in_the_api_and_in_the_overview(
    page: Page, world: ConsoleWorld
) -> None:
    sign_in(page, world, "admin")
    page.goto(f"{world.url}/ui/labels/{WEAKENING}")
    expect(page.get_by_role("heading", name="Battery and signal over time")).to_be_visible()
    label = world.label("WAW-01", WEAKENING)
    falls = (2_900, 2_700, 2_500)
    for battery in falls:
        label.set_battery_mv(battery)  # type: ignore[attr-defined]

        def sampled(battery: int = battery) -> bool:
            kept = _batteries(page, world)
            return bool(kept) and _near(kept[-1], battery)

        world.wait_until(sampled, timeout_s=60, what=f"a sample of about {battery} mV")
    # The API: the fall, in order, oldest first.
    kept = _batteries(page, world)
    steps = [b for i, b in enumerate(kept) if i == 0 or abs(b - kept[i - 1]) > 5]
    assert len(steps) >= 3
    assert all(_near(b, f) for b, f in zip(steps[-3:], falls, strict=True)), steps
    # The page, live: the sentence and the chart say the same.
    summary = page.locator("#battery-summary")
    expect(summary).to_contain_text(
        re.compile(rf"Battery now 2[45]\d\d mV, low \(under {LOW_BATTERY_MV} mV\)"), timeout=30_000
    )
    expect(summary).to_contain_text("falling by")
    expect(summary).to_contain_text(re.compile(r"lowest 2[45]\d\d mV"))
    chart = page.get_by_role("img", name="Battery over time")
    expect(chart).to_be_visible()
    expect(page.locator("#battery-chart .threshold-label")).to_have_text(
        f"low: {LOW_BATTERY_MV} mV"
    )
    points = page.locator("#battery-chart polyline").get_attribute("points")
    assert points is not None
    heights = [float(point.split(",")[1]) for point in points.split()]
    assert heights[-1] > heights[0]  # drawn lower at the end: SVG's y grows downwards
    threshold_y = page.locator("#battery-chart .threshold").get_attribute("y1")
    assert threshold_y is not None
    assert heights[-1] > float(threshold_y) > heights[0]  # it crossed the threshold
    expect(page.get_by_role("img", name="Signal over time")).to_be_visible()
    expect(page.locator("#signal-summary")).to_contain_text(f"Signal now {label.rssi_dbm} dBm")  # type: ignore[attr-defined]
    # The overview counts it as low battery, and its link finds exactly this label.
    page.goto(f"{world.url}/ui/")
    row = page.get_by_role("table", name="Labels per store").get_by_role("row", name="WAW-01")
    low_cell = row.locator("td").nth(7)  # Labels, Up to date, ..., Unplanned, Offline, Low battery
    expect(low_cell).to_have_text("1")
    low_cell.get_by_role("link").click()
    cards = page.locator(".label-card")
    expect(cards).to_have_count(1)
    expect(cards.first).to_contain_text(WEAKENING)
