"""The BLE store gateway's pieces: its labels file (no keys, every mistake named), its
radio's errors (retry later, or never), and the process relaying over it through a real
Mosquitto: the label's own signed answer up, silence for a label it cannot reach."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from gateways.base import Downlink, Uplink
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
    decode_gateway_report,
    decode_response,
    peek_header,
)
from gateways.store_gateway.radio import RadioError
from tests.fixtures.mosquitto import MosquittoProcess
from tests.gateways.ble.ble_store import (
    FAST,
    STORE,
    BleStore,
    address_of,
    gateway_labels,
    key_of,
    label_id_of,
    make_store,
    online,
    write_labels_file,
)

GATEWAY = "S001-ble1"


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
