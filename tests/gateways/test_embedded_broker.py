"""The embedded broker: there when no broker URL is configured, gone when stopped."""

from __future__ import annotations

import asyncio
import socket

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from esl.mqtt.broker_choice import configured_broker
from esl.mqtt.embedded_broker import EMBEDDED_USERNAME, EmbeddedBroker
from esl.mqtt.errors import EmbeddedBrokerError
from gateways.errors import GatewayConnectError
from gateways.mqtt.driver import MqttGateway
from gateways.mqtt.endpoint import BrokerEndpoint
from gateways.mqtt.network_thread import stop_network_thread


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


async def test_clients_connecting_and_subscribing_at_once_are_all_served() -> None:
    # What `esl demo` does at start-up: gateways' statuses are retained, and the
    # controller's per-store sessions subscribe while other clients connect. amqtt sends
    # each newcomer the retained messages filter by filter, awaiting between filters; a
    # filter added meanwhile used to kill the newcomer's session ("dictionary changed
    # size during iteration"), which then heard nothing.
    stores = 40
    async with EmbeddedBroker() as broker:
        endpoint = broker.endpoint
        loop = asyncio.get_running_loop()
        heard = {store: asyncio.Event() for store in range(stores)}

        def client(name: str) -> mqtt.Client:
            made = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=name, clean_session=False)
            made.username_pw_set(EMBEDDED_USERNAME)
            return made

        def store_session(store: int) -> mqtt.Client:
            session = client(f"controller.S{store}")
            session.on_connect = lambda c, _u, _f, _rc, _p: c.subscribe(
                [(f"esl/v1/S{store}/+/status", 1), (f"esl/v1/S{store}/+/up", 1)]
            )

            def on_message(_client: mqtt.Client, _user: object, message: mqtt.MQTTMessage) -> None:
                if message.topic.endswith("/up"):
                    loop.call_soon_threadsafe(heard[store].set)

            session.on_message = on_message
            session.connect(endpoint.host, endpoint.port)
            session.loop_start()
            return session

        publisher = client("gateways")
        publisher.connect(endpoint.host, endpoint.port)
        publisher.loop_start()
        for store in range(stores):
            publisher.publish(f"esl/v1/S{store}/gw1/status", b"online", qos=1, retain=True)
        stored = publisher.publish("stored", b"", qos=1)
        await asyncio.to_thread(stored.wait_for_publish, 5)  # the broker runs on this loop
        sessions: list[mqtt.Client] = []
        try:
            for store in range(stores):
                sessions.append(store_session(store))
                await asyncio.sleep(0.005)
            await asyncio.sleep(1.0)
            for store in range(stores):
                publisher.publish(f"esl/v1/S{store}/gw1/up", b"answer", qos=1)
            await asyncio.wait_for(asyncio.gather(*(e.wait() for e in heard.values())), 10)
        finally:
            for session in [publisher, *sessions]:
                session.disconnect()
            for session in [publisher, *sessions]:
                stop_network_thread(session)
