"""A broker outage and a power cut lose nothing: an answer the gateway signs while the
broker is down waits in its SQLite outbox, survives the gateway's crash, and reaches the
controller once both are back."""

from __future__ import annotations

import asyncio
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
from tests.fixtures.mosquitto import MosquittoProcess
from tests.gateways.mqtt_harness import events_until
from tests.support.oepl import price_planes, tag_mac
from tests.support.waiting import until

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _answer(key: bytes) -> object:
    def done(event: GatewayEvent) -> bool:
        return (
            isinstance(event, Uplink)
            and decode_response(event.payload, key=key).kind is FrameKind.RESPONSE
        )

    return done


async def test_an_answer_made_during_a_broker_outage_arrives_after_it(
    served_ap: ServedAccessPoint, mosquitto: MosquittoProcess, tmp_path: Path
) -> None:
    mac, key = tag_mac(1), generate_label_key()
    keys = tmp_path / "keys.json"
    provision = LabelProvision(label_id=mac, model_id="2.9-bwr", key=key)
    write_gateway_provisioning(keys, [provision], store="S01", gateway="S01-ap1")
    timings = DriverTimings(poll_s=0.02, confirm_timeout_s=60, busy_base_delay_s=0.01)
    endpoint = BrokerEndpoint(mosquitto.host, mosquitto.port)

    def gateway_process() -> StoreGatewayProcess:
        state = open_local_state(tmp_path / "gw.sqlite")
        state.add_labels(read_gateway_provisioning(keys))
        radio = OeplRadio(AccessPointDriver(AccessPointClient(served_ap.url), timings=timings))
        return StoreGatewayProcess(
            store="S01",
            gateway="S01-ap1",
            endpoint=endpoint,
            radio=radio,
            state=state,
            health_every_s=3600,
            reconnect_delay_s=(0.2, 1),
        )

    async def close(process: StoreGatewayProcess, *, crash: bool) -> None:
        await (process.crash() if crash else process.stop())
        await process.radio.close()
        process.state.close()

    tag = served_ap.ap.tags[mac]
    tag.checks_in = False  # the tag is asleep: the image waits at the AP
    async with MqttGateway(
        endpoint, client_id="ctl-outage", reconnect_delay_s=(0.2, 1)
    ) as controller:
        first = gateway_process()
        await first.start()
        planes = price_planes(seed=60)
        frame = encode_frame(
            LabelFrame(mac, 1, build_image_update(planes, model_id="2.9-bwr")), key=key
        )
        await controller.send(Downlink("S01", "S01-ap1", mac, frame))
        await until(  # uploaded, not delivered
            lambda: tag.stored_raw is not None, what="the image at the AP", timeout_s=10
        )

        await asyncio.to_thread(mosquitto.stop)
        await events_until(controller, lambda e: isinstance(e, TransportStatus) and not e.connected)
        tag.checks_in = True  # the tag wakes while the broker is away
        await until(
            lambda: first.state.counts() == (0, 1),
            what="the answer waiting in the gateway's outbox",
            timeout_s=30,
        )
        # ... and the gateway loses power before the broker is back.
        await close(first, crash=True)

        # The broker forgot every session (no persistence here): the controller
        # subscribes again before the gateway comes back with its outbox.
        await asyncio.to_thread(mosquitto.start)
        await events_until(
            controller, lambda e: isinstance(e, TransportStatus) and e.connected, timeout_s=30
        )
        second = gateway_process()
        await second.start()
        try:
            seen = await events_until(controller, _answer(key), timeout_s=60)
        finally:
            await close(second, crash=False)
    uplink = seen[-1]
    assert isinstance(uplink, Uplink)
    answer = decode_response(uplink.payload, key=key)
    assert answer.reason is ReasonCode.SUCCESS
    assert answer.displayed_hash == content_hash(planes)
    assert tag.shown_planes() == planes
