"""`esl gateway ble` tells the controller what a label back in reach shows.

A label received the whole frame of a new price and went out of reach before showing it:
the gateway reported "out of range". Back in reach, the gateway's reach-again Ping has
the label carry out the frame it holds first (docs/ble.md), so the label shows the new
price and signs an answer for it. That answer was queued on the BLE driver's
`events()`, which nothing in the store gateway reads: only "within reach again" went up,
so the controller never heard that the label took the price. Were that price corrected
back meanwhile, the controller sent nothing and kept recording the old price while the
shelf showed the corrected-away one (BLE labels send no check-ins to mend it).

Real parts: the store gateway process opened as `esl gateway ble` opens it
(`open_ble_store_gateway`), Mosquitto, the controller's MQTT driver, the BLE driver over
simulated labels.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

from gateways.base import Downlink, GatewayEvent, Uplink
from gateways.mqtt.driver import MqttGateway
from gateways.mqtt.endpoint import parse_broker_url
from gateways.protocol import (
    FrameKind,
    ReasonCode,
    ReportFlag,
    build_image_update,
    decode_gateway_report,
    decode_response,
    peek_header,
)
from rendering.encoding import Planes
from tests.fixtures.mosquitto import MosquittoProcess
from tests.gateways.ble.ble_store import (
    MODEL,
    STORE,
    key_of,
    label_id_of,
    make_store,
    online,
    reference_planes,
    write_labels_file,
)
from tests.rendering.label_samples import PLAIN, PROMOTION

GATEWAY = "S001-ble1"
OLD = reference_planes(PLAIN)
DUE = reference_planes(PROMOTION)
AFTER_REFRESH = timedelta(seconds=30)  # a 2.9" three-colour panel draws for 15 s
OUT_OF_REACH = 10**6  # connection attempts refused after the drop: all, until it is back


async def test_a_label_back_in_reach_answers_for_the_price_it_took_on_the_way(
    mosquitto: MosquittoProcess, tmp_path: Path
) -> None:
    store = make_store(1)
    label_id = label_id_of(1)
    labels_file = write_labels_file(tmp_path / f"{GATEWAY}-ble.json", [1], gateway=GATEWAY)
    controller = MqttGateway(parse_broker_url(mosquitto.url))
    await controller.start()
    events = controller.events()
    try:
        async with (
            asyncio.timeout(60),
            store.store_gateway(
                labels_file, gateway=GATEWAY, broker_url=mosquitto.url, state_dir=tmp_path
            ) as opened,
            online(opened, events),
        ):

            async def send(planes: Planes) -> int:
                frame = store.frame(1, build_image_update(planes, model_id=MODEL.id))
                await controller.send(Downlink(STORE, GATEWAY, label_id, frame.payload))
                return peek_header(frame.payload).sequence

            old = await send(OLD)
            assert _answer(await _next_uplink(events)) == (old, ReasonCode.SUCCESS)
            store.clock.advance(AFTER_REFRESH)  # its panel is done drawing OLD

            # The new price's last chunk is in when the label goes out of reach.
            due_frame = store.frame(1, build_image_update(DUE, model_id=MODEL.id))
            store.sequences[label_id] -= 1  # `send` signs it again, same sequence
            store.label(1).faults.drop_at_offset = len(due_frame.payload)
            store.label(1).faults.refuse_after_drop = OUT_OF_REACH
            due = await send(DUE)
            report = decode_gateway_report((await _next_uplink(events)).payload)
            assert (report.sequence, report.flags) == (due, ReportFlag.NONE)
            assert report.detail.startswith("out of range")
            assert store.label(1).label.shown == OLD

            # Back in reach: the gateway's reach-again Ping finds it, and says so.
            store.label(1).faults.refuse_connections = 0
            back = [_answer(await _next_uplink(events))]
            while back[-1] is not FrameKind.GATEWAY_REPORT:
                back.append(_answer(await _next_uplink(events)))
    finally:
        await controller.stop()

    assert store.label(1).label.shown == DUE  # the label carried out the held frame
    # Its signed answer for that frame reaches the controller, then the gateway's word
    # (which sends an update the controller parked meanwhile again).
    assert back == [(due, ReasonCode.SUCCESS), FrameKind.GATEWAY_REPORT], (
        f"the label shows the price of frame {due}, but the controller heard only {back}"
    )


async def _next_uplink(events: AsyncIterator[GatewayEvent]) -> Uplink:
    async for event in events:
        if isinstance(event, Uplink):
            return event
    raise AssertionError("the controller's events ended")


def _answer(uplink: Uplink) -> tuple[int, ReasonCode] | FrameKind:
    """(sequence, reason) of the label's signed answer; the kind of anything else (a
    gateway report: "within reach again")."""
    kind = peek_header(uplink.payload).kind
    if kind is FrameKind.GATEWAY_REPORT:
        report = decode_gateway_report(uplink.payload)
        assert (report.sequence, report.flags) == (0, ReportFlag.REACHABLE)
    if kind is not FrameKind.RESPONSE:
        return kind
    response = decode_response(uplink.payload, key=key_of(label_id_of(1)))
    return response.sequence, response.reason
