"""The broker fixture itself: a real Mosquitto that relays messages and survives a restart."""

from __future__ import annotations

import socket
import threading

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from gateways.mqtt.network_thread import stop_network_thread
from tests.fixtures.mosquitto import MosquittoProcess


def _connected_client(broker: MosquittoProcess, client_id: str) -> mqtt.Client:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id)
    client.connect(broker.host, broker.port)
    client.loop_start()
    return client


def test_a_message_published_through_the_fixture_broker_arrives(
    mosquitto: MosquittoProcess,
) -> None:
    received = threading.Event()
    payloads: list[bytes] = []
    subscribed = threading.Event()

    def on_message(_c: mqtt.Client, _u: object, message: mqtt.MQTTMessage) -> None:
        payloads.append(message.payload)
        received.set()

    subscriber = _connected_client(mosquitto, "fixture-sub")
    subscriber.on_message = on_message
    subscriber.on_subscribe = lambda *_args: subscribed.set()
    subscriber.subscribe("esl/v1/S001/gw1/up", qos=1)
    assert subscribed.wait(5)
    publisher = _connected_client(mosquitto, "fixture-pub")
    publisher.publish("esl/v1/S001/gw1/up", b"hello", qos=1).wait_for_publish(5)
    assert received.wait(5)
    assert payloads == [b"hello"]
    for client in (publisher, subscriber):
        stop_network_thread(client)
        client.disconnect()


def test_restart_keeps_the_port_and_refuses_connections_while_down(
    mosquitto: MosquittoProcess,
) -> None:
    port = mosquitto.port
    mosquitto.stop()
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0
    mosquitto.start()
    assert mosquitto.port == port
    with socket.create_connection(("127.0.0.1", port), timeout=2):
        pass
