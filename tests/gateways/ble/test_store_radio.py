"""The BLE store gateway's pieces: its labels file (no keys, every mistake named), its
radio's errors (retry later, or never), and the process relaying over it through a real
Mosquitto: the label's own signed answer up, silence for a label it cannot reach."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from gateways.base import Downlink, Uplink
from gateways.ble.esl_service import FRAME_TRANSFER_STATUS_UUID
from gateways.ble.frame_transfer import MAX_TRANSFER_BYTES, encode_begin
from gateways.ble.radio import BleLabelRadio
from gateways.ble.store_radio import (
    BleGatewayLabel,
    BleStoreRadio,
    ble_gateway_labels_json,
    read_ble_gateway_labels,
)
from gateways.mqtt.driver import MqttGateway
from gateways.mqtt.endpoint import parse_broker_url
from gateways.protocol import (
    FlashLed,
    LedColour,
    LedPattern,
    Ping,
    ProvisioningRejectedError,
    ReasonCode,
    ReportFlag,
    build_image_update,
    decode_gateway_report,
    decode_response,
    peek_header,
)
from gateways.store_gateway.radio import RadioError
from tests.fixtures.mosquitto import MosquittoProcess
from tests.gateways.ble.ble_store import (
    FAST,
    MODEL_ID,
    STORE,
    BleStore,
    address_of,
    gateway_labels,
    key_of,
    label_id_of,
    make_store,
    online,
    reference_planes,
    write_labels_file,
)
from tests.rendering.label_samples import PROMOTION

GATEWAY = "S001-ble1"
PLANES = reference_planes(PROMOTION)


def _entries(count: int) -> list[BleGatewayLabel]:
    return gateway_labels(range(1, count + 1))


def _radio(store: BleStore, count: int) -> BleStoreRadio:
    return BleStoreRadio(
        BleLabelRadio(
            [entry.on_air for entry in _entries(count)],
            client_factory=store.client_factory,
            connect_policy=FAST,
            clock=store.clock,
        )
    )


def test_the_labels_file_says_where_each_label_is_and_holds_no_keys(tmp_path: Path) -> None:
    path = tmp_path / "labels.json"
    path.write_text(ble_gateway_labels_json(_entries(3), store=STORE, gateway=GATEWAY))
    assert read_ble_gateway_labels(path, store=STORE, gateway=GATEWAY) == _entries(3)
    for entry in json.loads(path.read_text())["labels"]:
        assert set(entry) == {"label_id", "model", "address", "esl_id"}


def test_a_bad_labels_file_is_refused_naming_every_bad_label(tmp_path: Path) -> None:
    good = {"label_id": "L-1", "model": "2.9-bwr", "address": "C0:FF:EE:00:00:01", "esl_id": 1}
    labels = [
        good,
        {**good, "label_id": "L-2", "address": "C0:FF:EE:00:01"},  # five bytes
        {**good, "label_id": "L-3", "address": "C0:FF:EE:00:00:03", "model": "9.9-xyz"},
        {**good, "label_id": "L-4", "address": "C0:FF:EE:00:00:04", "esl_id": 255},
        {**good, "address": "C0:FF:EE:00:00:05"},  # L-1 again
        {**good, "label_id": "L-6"},  # L-1's address
    ]
    path = tmp_path / "labels.json"
    path.write_text(json.dumps({"store": STORE, "gateway": GATEWAY, "labels": labels}))
    with pytest.raises(ProvisioningRejectedError) as refused:
        read_ble_gateway_labels(path, store=STORE, gateway=GATEWAY)
    assert [problem["line"] for problem in refused.value.problems] == [2, 3, 4, 5, 6]
    assert "5 of 6 labels are invalid" in refused.value.message
    assert "not a BLE address" in refused.value.message

    path.write_text(ble_gateway_labels_json(_entries(1), store=STORE, gateway="S001-ble2"))
    with pytest.raises(ProvisioningRejectedError, match="for gateway S001/S001-ble2, not"):
        read_ble_gateway_labels(path, store=STORE, gateway=GATEWAY)
    with pytest.raises(ProvisioningRejectedError, match="cannot read it"):
        read_ble_gateway_labels(tmp_path / "missing.json", store=STORE, gateway=GATEWAY)


async def test_a_label_out_of_reach_may_answer_later_one_not_associated_never() -> None:
    store = make_store(2)  # label 3 is in the file but not on the air
    store.label(2).esl_address = None  # forgot its association
    radio = _radio(store, 3)
    await radio.open()
    try:
        answer = await radio.exchange(label_id_of(1), store.frame(1, Ping()).payload)
        with pytest.raises(RadioError) as unassociated:
            await radio.exchange(label_id_of(2), store.frame(2, Ping()).payload)
        with pytest.raises(RadioError) as away:
            await radio.exchange(label_id_of(3), store.frame(3, Ping()).payload)
    finally:
        await radio.close()
    assert decode_response(answer, key=key_of(label_id_of(1))).reason is ReasonCode.SUCCESS
    assert unassociated.value.final
    assert unassociated.value.fields["address"] == address_of(2)
    assert not away.value.final
    assert away.value.reason == "out of range after 3 attempts"


async def test_what_the_same_frame_may_get_past_next_time_is_not_final() -> None:
    # `final` tells the controller that sending this frame again cannot succeed (it then
    # parks the update for good): a label browned out, radio noise on every chunk, or
    # another device's transfer begun on the label pass. Each frame, sent again once the
    # trouble is gone, is shown.
    store = make_store(2)
    browned = store.label(1).label
    full = browned.battery_nv
    browned.battery_nv = browned.hardware.power.brownout_nv - 1
    store.label(2).faults.corrupt_chunks = 100  # more than the driver sends each chunk again
    frames = {i: store.frame(i, build_image_update(PLANES, model_id=MODEL_ID)) for i in (1, 2)}
    radio = _radio(store, 2)
    await radio.open()
    try:
        failed: dict[int, RadioError] = {}
        for index, frame in frames.items():
            with pytest.raises(RadioError) as caught:
                await radio.exchange(frame.label_id, frame.payload)
            failed[index] = caught.value
        browned.battery_nv = full
        store.label(2).faults.corrupt_chunks = 0
        answers = {i: await radio.exchange(f.label_id, f.payload) for i, f in frames.items()}
    finally:
        await radio.close()
    assert "INSUFFICIENT_BATTERY" in failed[1].reason
    assert "stopped at byte" in failed[2].reason
    assert [error.final for error in failed.values()] == [False, False]
    for index, answer in answers.items():
        signed = decode_response(answer, key=key_of(label_id_of(index)))
        assert signed.reason is ReasonCode.SUCCESS
        assert store.label(index).label.shown == PLANES


async def test_a_transfer_another_device_began_is_not_final() -> None:
    store = make_store(1)
    frame = store.frame(1, build_image_update(PLANES, model_id=MODEL_ID))
    label = store.label(1)
    radio = _radio(store, 1)
    await radio.open()
    try:
        sending = asyncio.ensure_future(radio.exchange(frame.label_id, frame.payload))
        while label.transfer_status.confirmed == 0:  # the radio's first chunk is in
            await asyncio.sleep(0)
        other = store.client_factory(address_of(1))
        await other.connect()
        await other.write_gatt_char(
            FRAME_TRANSFER_STATUS_UUID, encode_begin(b"\x00" * 100), response=True
        )
        await other.disconnect()
        with pytest.raises(RadioError) as caught:
            async with asyncio.timeout(10):
                await sending
        answer = await radio.exchange(frame.label_id, frame.payload)
    finally:
        await radio.close()
    assert "another transfer began" in caught.value.reason
    assert not caught.value.final
    assert decode_response(answer, key=key_of(label_id_of(1))).reason is ReasonCode.SUCCESS
    assert label.label.shown == PLANES


async def test_what_no_retry_of_the_frame_gets_past_is_final() -> None:
    # Its labels file gives label 1 another label's ESL ID: the label refuses every command
    # for it (Invalid Parameters). Label 2 is sent more than a label holds (Too Large).
    store = make_store(2)
    wrong_id = BleGatewayLabel(label_id_of(1), MODEL_ID, address_of(1), esl_id=9)
    radio = BleStoreRadio(
        BleLabelRadio(
            [wrong_id.on_air, *(entry.on_air for entry in _entries(2)[1:])],
            client_factory=store.client_factory,
            connect_policy=FAST,
            clock=store.clock,
        )
    )
    frame = store.frame(1, build_image_update(PLANES, model_id=MODEL_ID))
    await radio.open()
    try:
        with pytest.raises(RadioError) as wrong:
            await radio.exchange(frame.label_id, frame.payload)
        with pytest.raises(RadioError) as too_large:
            await radio.exchange(label_id_of(2), bytes(MAX_TRANSFER_BYTES + 1))
    finally:
        await radio.close()
    assert "INVALID_PARAMETERS" in wrong.value.reason
    assert wrong.value.final
    assert "too large" in too_large.value.reason
    assert too_large.value.final


async def test_the_process_relays_signed_answers_and_reports_a_label_it_cannot_reach(
    mosquitto: MosquittoProcess, tmp_path: Path
) -> None:
    store = make_store(2)  # label 3 is out of range
    labels_file = write_labels_file(tmp_path / f"{GATEWAY}-ble.json", [1, 2, 3], gateway=GATEWAY)
    controller = MqttGateway(parse_broker_url(mosquitto.url))
    await controller.start()
    events = controller.events()
    opening = store.store_gateway(
        labels_file,
        gateway=GATEWAY,
        broker_url=mosquitto.url,
        state_dir=tmp_path,
        health_every_s=30.0,
    )
    try:
        async with asyncio.timeout(60), opening as opened:
            async with online(opened, events):
                away = store.frame(3, Ping())
                await controller.send(Downlink(STORE, GATEWAY, away.label_id, away.payload))
                # Nothing the label signed: the gateway's own report of why, naming the frame.
                async for event in events:
                    if isinstance(event, Uplink):
                        break
                report = decode_gateway_report(event.payload)
                assert (report.label_id, report.sequence) == (
                    away.label_id,
                    peek_header(away.payload).sequence,
                )
                assert (report.detail, report.attempts, report.flags) == (
                    "out of range after 3 attempts",
                    3,
                    ReportFlag.NONE,
                )
                flash = FlashLed(colour=LedColour.GREEN, pattern=LedPattern.BLINK, duration_s=5)
                lit = store.frame(1, flash)
                await controller.send(Downlink(STORE, GATEWAY, lit.label_id, lit.payload))
                async for event in events:
                    if isinstance(event, Uplink):
                        break
            error = opened.process.state.labels()[label_id_of(3)].last_error
    finally:
        await controller.stop()
    # The next uplink is label 1's answer (label 3 had none), and the label signed it:
    # the gateway has no key to sign with.
    answer = decode_response(event.payload, key=key_of(label_id_of(1)))
    assert (answer.label_id, answer.reason) == (label_id_of(1), ReasonCode.SUCCESS)
    assert store.label(1).label.led_until_ms > 0
    assert error == "out of range after 3 attempts"
