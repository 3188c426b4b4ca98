"""Label actions over Bluetooth LE, in a real browser: the controller's own BLE driver
(`esl demo --transport ble`: the real `gateways.ble` code and bleak client against
simulated labels) carries flash, ping and refresh; each answer is recorded with the
action and shown on the label page without a reload."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from esl.db.console_models import LabelActionRow
from esl.db.models import LabelStateRow
from firmware_sim.label import SimulatedLabel
from gateways.base import TransportKind
from tests.ui.console_world import ConsoleWorld, sign_in


@pytest.fixture(scope="module")
def ble_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleWorld]:
    world = ConsoleWorld(
        directory=tmp_path_factory.mktemp("console-ble"), broker_url=None, stores={"KRK-01": 2}
    )
    try:
        world.start()
        yield world
    finally:
        world.stop()


def _ble_label(world: ConsoleWorld) -> SimulatedLabel:
    assert world.chain is not None
    label_id = sorted(world.chain.labels["KRK-01"])[0]
    label = world.label("KRK-01", label_id)
    assert isinstance(label, SimulatedLabel)
    return label


def _recorded(world: ConsoleWorld, label_id: str) -> list[tuple[str, str, str | None]]:
    with world.sessions()() as session:
        return [
            (row.action, row.status, row.reason)
            for row in session.scalars(
                select(LabelActionRow)
                .where(LabelActionRow.label_id == label_id)
                .order_by(LabelActionRow.id)
            )
        ]


def test_flash_ping_and_refresh_over_ble_are_answered_and_shown(
    page: Page, ble_world: ConsoleWorld
) -> None:
    label = _ble_label(ble_world)
    assert ble_world.chain is not None
    assert ble_world.chain.transport is TransportKind.BLE
    assert "-ble" in label.label_id  # on a BLE access point, not a store gateway over MQTT
    sign_in(page, ble_world, "store")
    page.goto(f"{ble_world.url}/ui/labels/{label.label_id}")
    result = page.locator("#action-result")

    clicked_ms = int(ble_world.simulated_now().timestamp() * 1000)
    page.get_by_role("button", name="Flash LED").click()
    expect(result).to_contain_text("answered", timeout=60_000)
    expect(result).to_contain_text("the LED is flashing")
    # The simulated label lit its LED after the click, for the flash's 30 s (labels run
    # 20x fast here: by now it may have gone out again).
    assert label.led_until_ms >= clicked_ms + 30_000

    page.get_by_role("button", name="Ping").click()
    expect(result).to_contain_text("answered", timeout=60_000)
    expect(result).to_contain_text(f"alive: {label.battery_mv} mV, {label.rssi_dbm} dBm")

    shown_before, drawn_before = label.shown_hash, label.refreshes
    page.get_by_role("button", name="Refresh image").click()
    # The record forgot what the label shows; its image went out again and was confirmed,
    # then Refresh Display had the panel drawn again.
    expect(result).to_contain_text("the label drew its image again", timeout=90_000)
    assert label.shown_hash == shown_before
    assert label.refreshes == drawn_before + 1
    with ble_world.sessions()() as session:
        state = session.get(LabelStateRow, label.label_id)
        assert state is not None
        assert shown_before is not None
        assert state.confirmed_hash == shown_before.hex()

    assert _recorded(ble_world, label.label_id) == [
        ("flash", "answered", "SUCCESS"),
        ("ping", "answered", "SUCCESS"),
        ("refresh", "answered", "SUCCESS"),
    ]
    # The page's history lists them, newest first, with who asked.
    page.reload()
    history = page.get_by_role("heading", name="Recent actions").locator("xpath=..")
    expect(history).to_contain_text("refresh by store-key: answered")
    expect(history).to_contain_text("ping by store-key: answered")
    expect(history).to_contain_text("flash by store-key: answered — the LED is flashing")
