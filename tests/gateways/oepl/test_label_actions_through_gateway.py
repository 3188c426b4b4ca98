"""Label actions and label health on an OpenEPaperLink tag, end to end: the controller ->
Mosquitto -> `esl gateway oepl` (its own process) -> the emulated AP -> the tag.

A refresh reaches the AP as `/tag_cmd` refresh (pushing the same image again would draw
nothing: the AP does not resend what a tag holds) and the tag takes its image again; an
LED flash reaches it as `/led_flash`; a ping answers with what the AP last heard of it;
each action's answer is recorded. What the AP reports of a tag (battery, signal) arrives
in the gateway's check-ins and is stored."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from esl.db.console_models import LabelActionRow
from esl.db.models import LabelStateRow
from esl.services.label_actions import ActionKind, request_action
from tests.support.clock import wall_clock
from tests.support.oepl import tag_mac
from tests.support.oepl_chain import OeplChain
from tests.support.pipeline import ADMIN, publish_prices
from tests.support.waiting import until

pytestmark = [pytest.mark.integration, pytest.mark.slow]


async def test_refresh_and_flash_reach_the_tag_through_the_gateway_and_are_answered(
    oepl_chain: OeplChain,
) -> None:
    await oepl_chain.import_tags()
    publish_prices(
        oepl_chain.sessions, {"MLK-1": "3.49", "CHS-1": "8.99", "CFE-1": "59.99"}, now=wall_clock()
    )
    await oepl_chain.start_gateway_process()
    await oepl_chain.start_controller()
    await oepl_chain.wait_converged(timeout_s=120)

    ap = oepl_chain.served.ap
    refreshed, flashed, pinged = ap.tags[tag_mac(1)], ap.tags[tag_mac(3)], ap.tags[tag_mac(5)]
    pinged.battery_mv = 2_720  # what the AP last heard: the ping's answer says it
    shown, updates, transfers = refreshed.shown_planes(), refreshed.update_count, ap.transfers
    with oepl_chain.sessions.begin() as session:
        actions = {
            kind: request_action(
                session, principal=ADMIN, label_id=tag.mac, kind=kind, now=wall_clock()
            ).id
            for kind, tag in (
                (ActionKind.REFRESH, refreshed),
                (ActionKind.FLASH, flashed),
                (ActionKind.PING, pinged),
            )
        }

    def action(kind: ActionKind) -> LabelActionRow:
        with oepl_chain.sessions() as session:
            row = session.get(LabelActionRow, actions[kind])
            assert row is not None
            return row

    def led_commands() -> list[str]:
        return [c for c in flashed.delivered if c.startswith("led:")]

    await until(
        lambda: (
            action(ActionKind.REFRESH).status == "answered"
            and action(ActionKind.FLASH).status == "answered"
            and led_commands() != []
        ),
        what="both actions answered and the LED pattern taken by the tag",
        timeout_s=120,
    )
    refresh = action(ActionKind.REFRESH)
    assert (refresh.reason, refresh.detail) == ("SUCCESS", "the label drew its image again")
    assert refresh.battery_mv == 2950
    # Answered only once the tag heard "refresh" and took its image over the radio again
    # (a check-in of the gateway in between, saying what the tag shows, answers nothing).
    assert "refresh" in refreshed.delivered
    assert refreshed.update_count == updates + 1
    assert ap.transfers == transfers + 1
    assert refreshed.shown_planes() == shown
    flash = action(ActionKind.FLASH)
    assert flash.reason == "SUCCESS"
    assert flash.rssi_dbm == -62
    assert len(led_commands()) == 1
    ping = action(ActionKind.PING)
    assert (ping.reason, ping.battery_mv) == ("SUCCESS", 2720)
    assert oepl_chain.mismatches() == []


async def test_battery_and_signal_the_ap_reports_reach_the_controller(
    oepl_chain: OeplChain,
) -> None:
    await oepl_chain.import_tags()
    await oepl_chain.start_gateway_process()
    await oepl_chain.start_controller()
    tag = oepl_chain.served.ap.tags[tag_mac(2)]
    tag.battery_mv, tag.rssi, tag.temperature = 2_310, -81, 7  # a cold, weak, ageing tag
    changed_at = wall_clock()

    def stored() -> LabelStateRow | None:
        with oepl_chain.sessions() as session:
            return session.scalar(select(LabelStateRow).where(LabelStateRow.label_id == tag.mac))

    def reported() -> bool:
        row = stored()
        return row is not None and (row.battery_mv, row.rssi_dbm) == (2_310, -81)

    await until(reported, what="the tag's new battery and signal stored", timeout_s=120)
    row = stored()
    assert row is not None
    assert row.temperature_tenths_c == 70
    assert row.last_seen is not None
    assert row.last_seen >= changed_at
