"""A broker outage loses nothing: an answer the gateway signs while the broker is down
waits in its SQLite outbox and reaches the controller once the broker is back."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from esl.pipeline.oepl_tags import write_gateway_provisioning
from firmware_sim.fleet import LabelProvision
from firmware_sim.oepl_ap.http_app import ServedAccessPoint
from gateways.base import Downlink, GatewayEvent, TransportStatus, Uplink
from gateways.mqtt.driver import MqttGateway
from gateways.mqtt.endpoint import BrokerEndpoint
from gateways.oepl import AccessPointClient, AccessPointDriver, DriverTimings
from gateways.oepl.radio import OeplRadio
from gateways.protocol import (
    FrameKind,
    LabelFrame,
    ReasonCode,
    build_image_update,
    decode_response,
    encode_frame,
    generate_label_key,
)
from gateways.store_gateway.process import (
    StoreGatewayProcess,
    open_local_state,
    read_gateway_provisioning,
)
from rendering.encoding import content_hash
from tests.fixtures.mosquitto import MosquittoProcess, start_mosquitto
from tests.gateways.mqtt_harness import events_until
from tests.gateways.oepl.conftest import price_planes, tag_mac, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _answer(key: bytes) -> object:
    def done(event: GatewayEvent) -> bool:
        return (
            isinstance(event, Uplink)
            and decode_response(event.payload, key=key).kind is FrameKind.RESPONSE
        )

    return done


@pytest.fixture
def persistent_broker(tmp_path: Path) -> Iterator[MosquittoProcess]:
    """Mosquitto keeping sessions and queued messages over a restart, as `esl mqtt
    config` sets it up for stores."""
    store = tmp_path / "mosquitto-db"
    store.mkdir()
    broker = start_mosquitto(
        tmp_path / "mosquitto",
        extra_config=f"persistence true\npersistence_location {store}/\n",
    )
    yield broker
    broker.stop()


async def test_an_answer_made_during_a_broker_outage_arrives_after_it(
    served_ap: ServedAccessPoint, persistent_broker: MosquittoProcess, tmp_path: Path
) -> None:
    mosquitto = persistent_broker
    mac, key = tag_mac(1), generate_label_key()
    keys = tmp_path / "keys.json"
    provision = LabelProvision(label_id=mac, model_id="2.9-bwr", key=key)
    write_gateway_provisioning(keys, [provision], store="S01", gateway="S01-ap1")
    state = open_local_state(tmp_path / "gw.sqlite")
    state.add_labels(read_gateway_provisioning(keys))
    timings = DriverTimings(poll_s=0.02, confirm_timeout_s=60, busy_base_delay_s=0.01)
    endpoint = BrokerEndpoint(mosquitto.host, mosquitto.port)
    process = StoreGatewayProcess(
        store="S01",
        gateway="S01-ap1",
        endpoint=endpoint,
        radio=OeplRadio(AccessPointDriver(AccessPointClient(served_ap.url), timings=timings)),
        state=state,
        health_every_s=3600,
    )
    tag = served_ap.ap.tags[mac]
    tag.checks_in = False  # the tag is asleep: the image waits at the AP
    async with MqttGateway(endpoint, client_id="ctl-outage") as controller:
        await process.start()
        try:
            planes = price_planes(seed=60)
            frame = encode_frame(
                LabelFrame(mac, 1, build_image_update(planes, model_id="2.9-bwr")), key=key
            )
            await controller.send(Downlink("S01", "S01-ap1", mac, frame))
            await wait_until(lambda: tag.stored_raw is not None)  # uploaded, not delivered

            await asyncio.to_thread(mosquitto.stop)
            await events_until(
                controller, lambda e: isinstance(e, TransportStatus) and not e.connected
            )
            tag.checks_in = True  # the tag wakes while the broker is away
            await wait_until(lambda: process.state.counts() == (0, 1), timeout_s=30)

            await asyncio.to_thread(mosquitto.start)
            seen = await events_until(controller, _answer(key), timeout_s=60)
        finally:
            await process.stop()
            await process.radio.close()
            state.close()
    uplink = seen[-1]
    assert isinstance(uplink, Uplink)
    answer = decode_response(uplink.payload, key=key)
    assert answer.reason is ReasonCode.SUCCESS
    assert answer.displayed_hash == content_hash(planes)
    assert tag.shown_planes() == planes
