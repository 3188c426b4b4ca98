"""A Mosquitto restart: the driver notices, reconnects with backoff and carries on."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from gateways.base import Downlink, GatewayEvent, TransportStatus, Uplink
from gateways.mqtt.driver import MqttGateway
from gateways.mqtt.endpoint import BrokerEndpoint
from gateways.mqtt.store_gateway import StoreGatewayClient
from tests.fixtures.mosquitto import MosquittoProcess
from tests.gateways.mqtt_harness import events_until

pytestmark = pytest.mark.integration


def _link(connected: bool) -> Callable[[GatewayEvent], bool]:
    return lambda e: isinstance(e, TransportStatus) and e.connected is connected


async def test_after_a_broker_restart_frames_and_answers_flow_again(
    mosquitto: MosquittoProcess,
) -> None:
    endpoint = BrokerEndpoint(mosquitto.host, mosquitto.port)
    async with MqttGateway(endpoint, client_id="ctl-restart") as controller:
        gateway = StoreGatewayClient(endpoint, store="S001", gateway="gw1")
        await gateway.start()
        await events_until(controller, _link(True))

        await asyncio.to_thread(mosquitto.restart)
        await events_until(controller, _link(False))
        await events_until(controller, _link(True), timeout_s=15)
        # The restarted broker kept no sessions: the driver subscribed again by itself.
        assert controller.connected

        deadline = asyncio.get_running_loop().time() + 15
        while True:  # the gateway's own reconnect may still be under way
            await controller.send(Downlink("S001", "gw1", "L", b"after restart"))
            try:
                # A fresh iterator each time: a timed-out one is closed.
                assert await asyncio.wait_for(anext(gateway.frames()), 1) == b"after restart"
                break
            except TimeoutError:
                assert asyncio.get_running_loop().time() < deadline, "gateway never came back"
        await gateway.publish_up(b"ack after restart")
        seen = await events_until(controller, lambda e: isinstance(e, Uplink))
        uplink = seen[-1]
        assert isinstance(uplink, Uplink)
        assert (uplink.store, uplink.payload) == ("S001", b"ack after restart")
        await gateway.stop()


async def test_a_send_while_the_broker_is_down_completes_once_it_is_back(
    mosquitto: MosquittoProcess,
) -> None:
    endpoint = BrokerEndpoint(mosquitto.host, mosquitto.port)
    async with MqttGateway(endpoint, client_id="ctl-outage") as controller:
        await asyncio.to_thread(mosquitto.stop)
        await events_until(controller, _link(False))

        send = asyncio.create_task(controller.send(Downlink("S001", "gw1", "L", b"patient")))
        await asyncio.sleep(0.5)
        assert not send.done()  # no PUBACK, no return: nothing is silently lost
        assert controller.unacknowledged == 1

        await asyncio.to_thread(mosquitto.start)
        await asyncio.wait_for(send, 15)
        assert controller.unacknowledged == 0
