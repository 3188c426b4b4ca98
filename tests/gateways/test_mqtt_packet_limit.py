"""A frame larger than the broker's packet limit is refused by the driver, not sent.

Sent, the broker closed the connection on it; paho sent it first again after every
reconnection, so the link dropped again and again: no frame behind it, of any store,
reached the broker, and its `send` neither returned nor raised (found by a hunter, a
Mosquitto at `max_packet_size 4096`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from esl.mqtt.mosquitto_config import MAX_PACKET_BYTES
from esl.settings import Settings
from gateways.base import Downlink, Uplink
from gateways.errors import PacketTooLargeError
from gateways.mqtt.driver import MqttGateway
from gateways.mqtt.endpoint import BrokerEndpoint
from gateways.mqtt.packet_size import DEFAULT_MAX_PACKET_BYTES, publish_packet_bytes
from gateways.mqtt.store_gateway import StoreGatewayClient
from gateways.mqtt.topics import TopicKind, topic_for
from gateways.protocol import MAX_FRAME_BYTES
from tests.fixtures.mosquitto import start_mosquitto
from tests.gateways.mqtt_harness import events_until

pytestmark = pytest.mark.integration

LIMIT = 4096
S001_DOWN = topic_for(store="S001", gateway="S001-gw1", kind=TopicKind.DOWN)


@pytest.fixture
def endpoint(tmp_path: Path) -> Iterator[BrokerEndpoint]:
    broker = start_mosquitto(tmp_path / "mq", extra_config=f"max_packet_size {LIMIT}\n")
    try:
        yield BrokerEndpoint(broker.host, broker.port)
    finally:
        broker.stop()


def _payload_in_packet_of(size: int) -> bytes:
    """A frame whose PUBLISH to S001's gateway is exactly `size` bytes."""
    payload = bytes(size - publish_packet_bytes(S001_DOWN, b""))
    while publish_packet_bytes(S001_DOWN, payload) > size:  # the remaining length grew
        payload = payload[:-1]
    assert publish_packet_bytes(S001_DOWN, payload) == size
    return payload


def test_a_largest_frame_fits_the_default_limit_on_the_longest_topic() -> None:
    assert Settings.defaults().mqtt_max_packet_bytes == DEFAULT_MAX_PACKET_BYTES
    assert DEFAULT_MAX_PACKET_BYTES == MAX_PACKET_BYTES  # what `esl mqtt config` writes
    longest = topic_for(store="s" * 64, gateway="g" * 64, kind=TopicKind.STATUS)
    assert publish_packet_bytes(longest, bytes(MAX_FRAME_BYTES)) <= DEFAULT_MAX_PACKET_BYTES


async def test_an_oversized_frame_is_refused_and_the_other_stores_frames_go_out(
    endpoint: BrokerEndpoint,
) -> None:
    s001 = StoreGatewayClient(endpoint, store="S001", gateway="S001-gw1")
    s002 = StoreGatewayClient(endpoint, store="S002", gateway="S002-gw1")
    await s001.start()
    await s002.start()
    async with MqttGateway(
        endpoint, client_id="ctl-big", max_packet_bytes=LIMIT, reconnect_delay_s=(0.2, 1)
    ) as controller:
        big = asyncio.create_task(controller.send(Downlink("S001", "S001-gw1", "L1", b"x" * 8000)))
        await asyncio.sleep(0.05)
        small = asyncio.create_task(controller.send(Downlink("S002", "S002-gw1", "L2", b"ok")))
        frames = s002.frames()
        assert await asyncio.wait_for(anext(frames), 10) == b"ok"
        await asyncio.wait_for(small, 5)
        with pytest.raises(PacketTooLargeError) as refused:
            await asyncio.wait_for(big, 1)
        assert refused.value.limit == LIMIT
        assert "larger than the broker's packet limit of 4096 bytes" in str(refused.value)
        # At the limit a frame still goes out; a byte more is refused, the link kept.
        largest = _payload_in_packet_of(LIMIT)
        outcomes = await asyncio.wait_for(
            controller.send_all(
                [
                    Downlink("S001", "S001-gw1", "L1", largest + b"!"),
                    Downlink("S001", "S001-gw1", "L1", largest),
                ]
            ),
            10,
        )
        assert isinstance(outcomes[0], PacketTooLargeError)
        assert outcomes[1] is None
        assert await asyncio.wait_for(anext(s001.frames()), 10) == largest
        assert controller.connected
    await s001.stop()
    await s002.stop()


async def test_an_oversized_answer_is_refused_and_the_next_one_goes_up(
    endpoint: BrokerEndpoint,
) -> None:
    gateway = StoreGatewayClient(endpoint, store="S001", gateway="S001-gw1", max_packet_bytes=LIMIT)
    async with MqttGateway(endpoint, client_id="ctl-up") as controller:
        await gateway.start()
        with pytest.raises(PacketTooLargeError):
            await asyncio.wait_for(gateway.publish_up(bytes(8000)), 1)
        await asyncio.wait_for(gateway.publish_up(b"answer"), 10)
        seen = await events_until(controller, lambda e: isinstance(e, Uplink))
        assert [e.payload for e in seen if isinstance(e, Uplink)] == [b"answer"]
        await gateway.stop()
