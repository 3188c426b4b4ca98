"""An OEPL access point whose clock is wrong (no NTP after a power cut, a clock an hour
behind): its tags check in every few seconds, yet pings and LED flashes of them must
still be answered, and their check-ins must still reach the controller."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from firmware_sim.oepl_ap.access_point import EmulatedAccessPoint, EmulatedTag
from firmware_sim.oepl_ap.http_app import ServedAccessPoint
from gateways.mqtt.endpoint import BrokerEndpoint
from gateways.oepl import AccessPointClient, AccessPointDriver, DriverTimings
from gateways.oepl.radio import OeplRadio
from gateways.protocol import (
    Command,
    FlashLed,
    FrameKind,
    LabelFrame,
    LabelResponse,
    Ping,
    ReasonCode,
    decode_response,
    encode_frame,
    generate_label_key,
)
from gateways.protocol.commands import LedColour, LedPattern
from gateways.store_gateway.label_stand_in import Outcome, answer_frame
from gateways.store_gateway.local_state import LabelRecord
from gateways.store_gateway.process import StoreGatewayProcess, open_local_state
from tests.support.clock import wall_clock
from tests.support.oepl import FAST_AP, HW_29_BWR, tag_mac, take_check_ins

AN_HOUR = 3600.0


async def _served(offset_s: float) -> ServedAccessPoint:
    ap = EmulatedAccessPoint(FAST_AP)
    now = time.time() + offset_s
    ap.add_tag(EmulatedTag(mac=tag_mac(1), hw_type=HW_29_BWR), now=now)
    return ServedAccessPoint(ap, clock=lambda: time.time() + offset_s)


@pytest.fixture
async def slow_ap() -> AsyncIterator[ServedAccessPoint]:
    """The AP's clock an hour behind the gateway's; its tag checks in every 50 ms."""
    async with await _served(-AN_HOUR) as served:
        yield served


def _radio(url: str) -> OeplRadio:
    timings = DriverTimings(poll_s=0.02, confirm_timeout_s=0.6, busy_base_delay_s=0.01)
    return OeplRadio(AccessPointDriver(AccessPointClient(url), timings=timings))


async def _answer(
    radio: OeplRadio, command: Command, sequence: int
) -> tuple[LabelResponse | None, Outcome]:
    key = generate_label_key()
    label = LabelRecord(label_id=tag_mac(1), address=tag_mac(1), model="2.9-bwr", key=key)
    frame = LabelFrame(tag_mac(1), sequence, command)
    outcome = await answer_frame(
        label, encode_frame(frame, key=key), radio=radio, model=(296, 128, True), now=wall_clock()
    )
    response = None if outcome.answer is None else decode_response(outcome.answer, key=key)
    return response, outcome


async def test_a_tag_checking_in_every_50_ms_answers_a_ping_whatever_the_aps_clock(
    slow_ap: ServedAccessPoint,
) -> None:
    radio = _radio(slow_ap.url)
    try:
        response, outcome = await _answer(radio, Ping(), 5)
        assert response is not None, (
            f"a tag the AP heard 50 ms ago gave no ping answer: {outcome.label.last_error!r}"
        )
        assert response.reason is ReasonCode.SUCCESS
    finally:
        await radio.close()


async def test_a_tag_checking_in_every_50_ms_flashes_whatever_the_aps_clock(
    slow_ap: ServedAccessPoint,
) -> None:
    radio = _radio(slow_ap.url)
    try:
        command = FlashLed(colour=LedColour(1), pattern=LedPattern(1), duration_s=10)
        response, outcome = await _answer(radio, command, 6)
        assert response is not None, (
            f"a tag the AP heard 50 ms ago was not flashed: {outcome.label.last_error!r}"
        )
        assert response.reason is ReasonCode.SUCCESS
    finally:
        await radio.close()


def _check_ins(process: StoreGatewayProcess, key: bytes) -> int:
    """The check-ins the polls since the last call signed (each label's newest)."""
    return sum(
        decode_response(payload, key=key).kind is FrameKind.CHECK_IN
        for payload in take_check_ins(process.state)
    )


async def test_check_ins_go_on_after_the_aps_clock_is_put_right(tmp_path: Path) -> None:
    """The AP ran an hour fast, then NTP put its clock right: the tag keeps checking in,
    and every health poll must still send the controller a check-in for it, not none
    until the AP's clock has caught up with the hour-ahead stamp."""
    key = generate_label_key()
    state = open_local_state(tmp_path / "gw.sqlite")
    state.add_labels(
        [LabelRecord(label_id=tag_mac(1), address=tag_mac(1), model="2.9-bwr", key=key)]
    )
    fast = await _served(+AN_HOUR)
    radio = _radio(fast.url)
    process = StoreGatewayProcess(
        store="S01",
        gateway="S01-ap1",
        endpoint=BrokerEndpoint("127.0.0.1", 1),  # never started: its queue is looked at
        radio=radio,
        state=state,
    )
    try:
        async with fast:
            await process._check_health(radio)  # the health poll's one step
            assert _check_ins(process, key) == 1
            await radio.close()
        # The same AP and tag, its clock put right; the tag's own timer goes on (its next
        # check-in is due now, not an hour on, as the AP's fast clock had noted it).
        tag = fast.ap.tags[tag_mac(1)]
        tag.next_checkin = time.time()
        async with ServedAccessPoint(fast.ap) as right:
            process.radio = radio = _radio(right.url)
            for _ in range(2):
                # Check-ins at the right time, in another second (lastseen is whole ones).
                await asyncio.sleep(1.1)
                await process._check_health(radio)
                held = state.labels()[tag_mac(1)].last_seen_s
                assert _check_ins(process, key) == 1, (
                    f"tag checked in at {tag.last_seen:.0f} (right clock) but the gateway "
                    f"sent no check-in for it: it holds {held:.0f} "
                    "from the fast clock or the last poll"
                )
    finally:
        await radio.close()
        state.close()
