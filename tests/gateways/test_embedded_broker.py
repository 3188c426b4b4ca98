"""The embedded broker: there when no broker URL is configured, gone when stopped."""

from __future__ import annotations

import socket

import pytest

from esl.mqtt.broker_choice import configured_broker
from esl.mqtt.embedded_broker import EMBEDDED_USERNAME, EmbeddedBroker
from esl.mqtt.errors import EmbeddedBrokerError
from gateways.errors import GatewayConnectError
from gateways.mqtt.driver import MqttGateway
from gateways.mqtt.endpoint import BrokerEndpoint


def _accepts_connections(endpoint: BrokerEndpoint) -> bool:
    try:
        with socket.create_connection((endpoint.host, endpoint.port), timeout=0.5):
            return True
    except OSError:
        return False


async def test_without_a_url_an_embedded_broker_serves_on_loopback_for_the_block() -> None:
    async with configured_broker(None) as endpoint:
        assert endpoint.host == "127.0.0.1"
        assert endpoint.port > 0
        assert endpoint.username == EMBEDDED_USERNAME
        async with MqttGateway(endpoint, client_id="ctl-embedded") as controller:
            assert controller.connected
    assert not _accepts_connections(endpoint)


async def test_with_a_url_that_broker_is_used_and_nothing_is_started() -> None:
    async with configured_broker("mqtt://ctl:pw@broker.example:1884") as endpoint:
        assert endpoint == BrokerEndpoint("broker.example", 1884, "ctl", "pw")


async def test_two_embedded_brokers_get_different_free_ports() -> None:
    async with EmbeddedBroker() as first, EmbeddedBroker() as second:
        assert first.endpoint.port != second.endpoint.port
        assert _accepts_connections(first.endpoint)
        assert _accepts_connections(second.endpoint)


async def test_a_client_without_a_username_is_turned_away() -> None:
    # amqtt would keep no session for an anonymous client; refusing it says so up front.
    async with EmbeddedBroker() as broker:
        anonymous = BrokerEndpoint(broker.endpoint.host, broker.endpoint.port)
        with pytest.raises(GatewayConnectError):
            await MqttGateway(anonymous, connect_timeout_s=2).start()


async def test_asking_a_stopped_broker_for_its_address_is_an_error() -> None:
    broker = EmbeddedBroker()
    with pytest.raises(EmbeddedBrokerError):
        _ = broker.endpoint
    await broker.start()
    await broker.stop()
    with pytest.raises(EmbeddedBrokerError):
        _ = broker.endpoint


async def test_a_port_already_taken_is_reported_as_an_embedded_broker_error() -> None:
    async with EmbeddedBroker() as running:
        with pytest.raises(EmbeddedBrokerError):
            await EmbeddedBroker(port=running.endpoint.port).start()
