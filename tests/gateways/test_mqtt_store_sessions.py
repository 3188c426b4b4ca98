"""One store's login flooding its `up` topic must cost only that store, at the broker.

Mosquitto keeps one queue per client session, bounded by `max_queued_messages`. Before,
the controller heard every store on one session: a flood filled that queue and Mosquitto
dropped whatever came next for the controller, any store's answer. The controller's own
per-store bound never came into play. Each store it serves now has a session of its own.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest

from gateways.base import Uplink
from gateways.mqtt.driver import MqttGateway
from gateways.mqtt.endpoint import BrokerEndpoint
from gateways.mqtt.store_gateway import StoreGatewayClient
from tests.fixtures.mosquitto import start_mosquitto
from tests.gateways.mqtt_harness import events_until

pytestmark = pytest.mark.integration

QUEUE = 100  # Mosquitto's max_queued_messages per client session


async def _flood(endpoint: BrokerEndpoint, topic: str, count: int) -> None:
    """The real `mosquitto_pub -l`: one QoS 1 message per line, as fast as it goes."""
    flood = await asyncio.create_subprocess_exec(
        "mosquitto_pub",
        *("-h", endpoint.host, "-p", str(endpoint.port), "-q", "1", "-t", topic, "-l"),
        stdin=asyncio.subprocess.PIPE,
    )
    await flood.communicate(b"".join(b"flood %d\n" % n for n in range(count)))
    assert flood.returncode == 0


async def test_a_store_flooding_while_the_controller_is_away_costs_another_store_nothing(
    tmp_path: Path,
) -> None:
    # Deterministic, not a race: while the controller is away the broker queues for its
    # persistent sessions; S002's flood overfills a queue, S001's answer comes after it.
    process = start_mosquitto(tmp_path / "mosquitto", extra_config=f"max_queued_messages {QUEUE}")
    try:
        endpoint = BrokerEndpoint(host=process.host, port=process.port)
        client_id = f"ctl-{uuid.uuid4().hex[:8]}"
        stores = ("S001", "S002")
        async with MqttGateway(endpoint, client_id=client_id, stores=stores):
            pass  # the sessions exist at the broker now, and keep queueing while away
        await _flood(endpoint, "esl/v1/S002/gw1/up", QUEUE * 5)
        gateway = StoreGatewayClient(endpoint, store="S001", gateway="gw1")
        await gateway.start()
        await gateway.publish_up(b"genuine")

        async with MqttGateway(endpoint, client_id=client_id, stores=stores) as controller:
            seen = await events_until(
                controller, lambda e: isinstance(e, Uplink) and e.store == "S001", timeout_s=10
            )
            assert [e.payload for e in seen if isinstance(e, Uplink) and e.store == "S001"] == [
                b"genuine"
            ]
        await gateway.stop()
    finally:
        process.stop()
