"""A tag's answer is not held up behind the gateway's WAITING reports while its broker
link is slow.

Twenty-one frames are carried at once (twenty tags out of range, one that takes its image
later), the gateway saying of each every health tick that it is waiting for the radio.
The broker then stalls (SIGSTOP: the gateway's publish waits for an acknowledgement that
does not come) for several ticks, the last tag takes its image meanwhile, and the broker
runs again. Before, the gateway queued one report per carried frame each tick in its
outbox, behind which the tag's answer waited: it reached the controller after every
report made during the stall (over a hundred here; sixty frames every 1.5 s in
test_controller_waits_for_a_busy_access_point.py kept the first answers 32 s from the
controller, whose timeout then sent every frame again). Now a frame has at most one report
waiting to go (a newer tick's replaces it) and answers go before any report but those
already on their way to the stalled broker (`UPLINKS_IN_FLIGHT` at most, which it takes in
one burst when it runs again).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from firmware_sim.oepl_ap.access_point import EmulatedAccessPoint, EmulatedTag
from firmware_sim.oepl_ap.http_app import ServedAccessPoint
from gateways.base import Downlink, Uplink
from gateways.mqtt.driver import MqttGateway
from gateways.mqtt.endpoint import parse_broker_url
from gateways.oepl import AccessPointClient, AccessPointDriver, DriverTimings
from gateways.oepl.radio import OeplRadio
from gateways.protocol import (
    FrameRejectedError,
    GatewayReport,
    LabelFrame,
    build_image_update,
    decode_gateway_report,
    decode_response,
    encode_frame,
    generate_label_key,
)
from gateways.store_gateway.local_state import LabelRecord
from gateways.store_gateway.process import StoreGatewayProcess, open_local_state
from gateways.store_gateway.radio import LabelHealth
from gateways.store_gateway.uplinks import UPLINKS_IN_FLIGHT
from tests.fixtures.mosquitto import MosquittoProcess
from tests.support.oepl import FAST_AP, HW_29_BWR, price_planes, tag_mac
from tests.support.waiting import until

pytestmark = pytest.mark.integration

STORE = "S01"
GATEWAY = "S01-ap1"
SILENT = 20  # tags out of range: their frames are carried for the whole test
ANSWERING = SILENT + 1  # the tag that takes its image while the broker is stalled
CARRIED = SILENT + 1
STALLED_TICKS = 5
HEALTH_EVERY_S = 0.1


class TickCountingRadio(OeplRadio):
    """The real radio over the emulated AP; counts the gateway's health ticks (each asks
    it what it heard, after the tick's WAITING reports are queued)."""

    ticks = 0

    async def health(self) -> dict[str, LabelHealth]:
        self.ticks += 1
        return await super().health()


@pytest.fixture
async def served_ap() -> AsyncIterator[ServedAccessPoint]:
    ap = EmulatedAccessPoint(FAST_AP)
    now = time.time()
    for number in range(1, CARRIED + 1):
        ap.add_tag(EmulatedTag(mac=tag_mac(number), hw_type=HW_29_BWR, checks_in=False), now=now)
    async with ServedAccessPoint(ap) as served:
        yield served


def _report(uplink: Uplink) -> GatewayReport | None:
    try:
        return decode_gateway_report(uplink.payload)
    except FrameRejectedError:
        return None  # a signed answer


async def test_a_tags_answer_goes_before_the_reports_made_while_the_broker_stalled(
    mosquitto: MosquittoProcess, served_ap: ServedAccessPoint, tmp_path: Path
) -> None:
    keys = {tag_mac(n): generate_label_key() for n in range(1, CARRIED + 1)}
    state = open_local_state(tmp_path / "state.sqlite")
    state.add_labels(LabelRecord(mac, mac, "2.9-bwr", key=key) for mac, key in keys.items())
    # The tags' answer is waited for long past the test: their frames stay carried.
    timings = DriverTimings(poll_s=0.02, confirm_timeout_s=120.0, busy_base_delay_s=0.01)
    radio = TickCountingRadio(AccessPointDriver(AccessPointClient(served_ap.url), timings=timings))
    endpoint = parse_broker_url(mosquitto.url)
    process = StoreGatewayProcess(
        store=STORE,
        gateway=GATEWAY,
        endpoint=endpoint,
        radio=radio,
        state=state,
        health_every_s=HEALTH_EVERY_S,
        report_check_ins=False,
    )
    controller = MqttGateway(endpoint)
    await controller.start()
    received: list[Uplink] = []

    async def listen() -> None:
        async for event in controller.events():
            if isinstance(event, Uplink):
                received.append(event)

    listening = asyncio.create_task(listen())
    await process.start()
    planes = price_planes(seed=7)
    try:
        for mac, key in keys.items():
            frame = LabelFrame(mac, 1, build_image_update(planes, model_id="2.9-bwr"))
            await controller.send(Downlink(STORE, GATEWAY, mac, encode_frame(frame, key=key)))

        def reported() -> set[str]:
            return {r.label_id for u in received if (r := _report(u)) is not None and r.waiting}

        await until(
            lambda: reported() == set(keys), what="a WAITING report for every frame", timeout_s=60
        )

        mosquitto.pause()
        stalled_at = datetime.now(UTC)
        try:
            ticks = radio.ticks
            await until(
                lambda: radio.ticks >= ticks + STALLED_TICKS,
                what=f"{STALLED_TICKS} health ticks",
                timeout_s=60,
            )
            answering = tag_mac(ANSWERING)
            served_ap.ap.tags[answering].checks_in = True
            await until(
                lambda: state.counts()[0] == SILENT,
                what="the answering tag's frame answered",
                timeout_s=60,
            )
            arrived_before_resume = len(received)
            stalled_ticks = radio.ticks - ticks
        finally:
            mosquitto.resume()
        resumed_at = datetime.now(UTC)

        def answer_at() -> int | None:
            for index, uplink in enumerate(received):
                if _report(uplink) is None:
                    return index
            return None

        await until(lambda: answer_at() is not None, what="the tag's answer", timeout_s=120)
        position = answer_at()
        assert position is not None
        answer = decode_response(received[position].payload, key=keys[answering])
        assert answer.sequence == 1
        assert served_ap.ap.tags[answering].update_count == 1

        def made_stalled(uplinks: list[Uplink]) -> list[GatewayReport]:
            return [
                r
                for u in uplinks
                if (r := _report(u)) is not None and r.waiting and stalled_at <= r.at < resumed_at
            ]

        ahead = made_stalled(received[arrived_before_resume:position])

        # Every silent frame reported again after the broker came back: all that was
        # queued during the stall has gone up before those.
        def reported_since_the_stall() -> set[str]:
            return {
                r.label_id
                for u in received
                if (r := _report(u)) is not None and r.waiting and r.at >= resumed_at
            }

        silent = {tag_mac(n) for n in range(1, SILENT + 1)}
        await until(
            lambda: reported_since_the_stall() >= silent,
            what="a report made after the stall for every silent frame",
            timeout_s=120,
        )
        stalled = made_stalled(received)
        print(
            f"MEASURED reports made during the stall ahead of the answer={len(ahead)}, "
            f"made during the stall in all={len(stalled)} ({CARRIED} frames, "
            f"{stalled_ticks} ticks)"
        )
        # Before: every report of every stalled tick went first (over a hundred); now
        # those on their way when the broker stalled at most.
        assert len(ahead) <= UPLINKS_IN_FLIGHT
        # Before: one per frame per tick; now one per frame (those on their way aside).
        assert len(stalled) <= CARRIED + UPLINKS_IN_FLIGHT
    finally:
        await process.stop()
        await radio.close()
        state.close()
        listening.cancel()
        await asyncio.gather(listening, return_exceptions=True)
        await controller.stop()
