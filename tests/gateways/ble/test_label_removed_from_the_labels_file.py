"""A label taken out of `esl gateway ble`'s labels file is forgotten at the next start,
and a frame for it is refused with the gateway's reason, the radio not asked.

The label left the shelf (or the store) and the labels file was written again without
it (`esl gateway ble export-labels`); the controller still has it bound at this gateway until
someone retires it there. The gateway's state file kept every label it had ever been
given: after the restart it still listed the label, tried to reach it at every health
poll once a frame had failed, and refused its frames only because the radio happened
not to know its address ("no BLE address known for label ..."), one warning per frame.

Real parts: the store gateway process opened as `esl gateway ble` opens it
(`open_ble_store_gateway`: its labels file, state and radio), Mosquitto, the controller's
MQTT driver, the BLE driver over simulated labels.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from datetime import timedelta
from pathlib import Path

import pytest

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
from gateways.store_gateway.process import OpenedStoreGateway
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
AFTER_REFRESH = timedelta(seconds=30)  # a 2.9" three-colour panel draws for 15 s
KEPT, GONE = label_id_of(1), label_id_of(2)


async def test_a_label_taken_out_of_the_labels_file_is_forgotten_and_refused(
    mosquitto: MosquittoProcess, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = make_store(2)
    labels_file = tmp_path / f"{GATEWAY}-ble.json"
    controller = MqttGateway(parse_broker_url(mosquitto.url))
    await controller.start()
    events = controller.events()

    async def send(index: int, planes: Planes) -> int:
        frame = store.frame(index, build_image_update(planes, model_id=MODEL.id))
        label_id = label_id_of(index)
        await controller.send(Downlink(STORE, GATEWAY, label_id, frame.payload))
        return peek_header(frame.payload).sequence

    def start_gateway() -> AbstractAsyncContextManager[OpenedStoreGateway]:
        """What `esl gateway ble --state-dir tmp_path` opens, with its labels file."""
        return store.store_gateway(
            labels_file, gateway=GATEWAY, broker_url=mosquitto.url, state_dir=tmp_path
        )

    try:
        async with asyncio.timeout(60):
            # Both labels in the file: both take their price.
            write_labels_file(labels_file, [1, 2], gateway=GATEWAY)
            async with start_gateway() as opened:
                async with online(opened, events):
                    for index in (1, 2):
                        sequence = await send(index, reference_planes(PLAIN))
                        answer = _answer(await _next_uplink(events), index)
                        assert answer == (sequence, ReasonCode.SUCCESS)
                # A frame for label 2 came just before the stop: it waits in the inbox.
                left = store.frame(
                    2, build_image_update(reference_planes(PROMOTION), model_id=MODEL.id)
                )
                opened.process.state.enqueue(
                    label_id=GONE,
                    sequence=peek_header(left.payload).sequence,
                    opcode=-1,
                    payload=left.payload,
                )
            shown = store.label(2).label.shown
            store.clock.advance(AFTER_REFRESH)  # both panels are done drawing

            # Label 2 leaves the shelf and the file; the gateway restarts.
            write_labels_file(labels_file, [1], gateway=GATEWAY)
            caplog.set_level(logging.DEBUG)
            caplog.clear()
            async with start_gateway() as opened, online(opened, events):
                listed = sorted(opened.process.state.labels())
                reports = []
                for attempt in range(4):  # the frame left over, then the controller's retries
                    if attempt == 0:
                        sequence = peek_header(left.payload).sequence
                    else:
                        sequence = await send(2, reference_planes(PROMOTION))
                    uplink = await _next_uplink(events, newer_than=sequence - 1)
                    if peek_header(uplink.payload).kind is FrameKind.RESPONSE:
                        response = decode_response(uplink.payload, key=key_of(GONE))
                        raise AssertionError(
                            f"label {GONE}, out of the labels file, answered frame "
                            f"{response.sequence} through the gateway: {response.reason.name}"
                        )
                    report = decode_gateway_report(uplink.payload)
                    reports.append((report.label_id, report.sequence, report.flags, report.detail))
                await asyncio.sleep(0.5)  # five health polls
                kept = await send(1, reference_planes(PROMOTION))
                answer = _answer(await _next_uplink(events, newer_than=kept - 1), 1)
    finally:
        await controller.stop()

    assert reports == [
        (GONE, sequence - 3 + i, ReportFlag.FINAL, "not in this gateway's label file")
        for i in range(4)
    ]
    assert store.label(2).label.shown == shown
    assert listed == [KEPT], "the state file lists what the labels file does not"
    assert answer == (kept, ReasonCode.SUCCESS)  # the label still in the file is served
    said = [
        record.getMessage()
        for record in caplog.records
        if record.name.startswith("gateways.") and record.levelno >= logging.WARNING
        if GONE in record.getMessage()
    ]
    assert len(said) == 1, said
    assert "label file" in said[0]


async def _next_uplink(events: AsyncIterator[GatewayEvent], *, newer_than: int = 0) -> Uplink:
    """The next uplink, passing over any about a frame up to `newer_than` (an answer
    published again after a restart: the gateway delivers at least once)."""
    async for event in events:
        if isinstance(event, Uplink) and peek_header(event.payload).sequence > newer_than:
            return event
    raise AssertionError("the controller's events ended")


def _answer(uplink: Uplink, index: int) -> tuple[int, ReasonCode] | FrameKind:
    kind = peek_header(uplink.payload).kind
    if kind is not FrameKind.RESPONSE:
        return kind
    response = decode_response(uplink.payload, key=key_of(label_id_of(index)))
    return response.sequence, response.reason
