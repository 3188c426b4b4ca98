"""Per-store credentials and persistent sessions on the RabbitMQ cluster, checked with the
real Mosquitto clients: a store's gateway login reads only its own frames and writes only
its own answers, on whichever node it logs in; its session lives on every node."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from esl.mqtt.rabbitmq_config import WrittenRabbitConfig
from gateways.mqtt.endpoint import BrokerEndpoint
from gateways.mqtt.network_thread import stop_network_thread
from gateways.mqtt.store_gateway import store_gateway_client_id
from tests.support.rabbitmq_cluster import RabbitCluster, mqtt_client

TIMEOUT_S = 30
# How long an attempt that should be refused keeps trying (mosquitto_sub reconnects).
REFUSED_AFTER_S = "10"


@dataclass(frozen=True)
class Login:
    endpoint: BrokerEndpoint
    client_id: str

    def args(self) -> list[str]:
        e = self.endpoint
        assert e.username is not None
        assert e.password is not None
        return ["-V", "mqttv311", "-h", e.host, "-p", str(e.port), "-u", e.username,
                "-P", e.password, "-i", self.client_id, "-q", "1"]  # fmt: skip


def gateway_login(config: WrittenRabbitConfig, node_endpoint: BrokerEndpoint, store: str) -> Login:
    account = next(a for a in config.accounts.gateways if a.store == store)
    return Login(
        node_endpoint.with_credentials(account.username, account.password),
        store_gateway_client_id(store=store, gateway=account.gateway),
    )


def controller_login(config: WrittenRabbitConfig, node_endpoint: BrokerEndpoint) -> Login:
    controller = config.accounts.controller
    return Login(
        node_endpoint.with_credentials(controller.username, controller.password),
        "esl-controller-permissions",
    )


def two_stores_and_controller(
    cluster: RabbitCluster, config: WrittenRabbitConfig, gateways_node: int
) -> tuple[Login, Login, Login]:
    """S01's and S02's gateway logins on node `gateways_node`, the controller's on node 0:
    each check crosses nodes, as a store and the controller would."""
    gateways = cluster.nodes[gateways_node].endpoint()
    return (
        gateway_login(config, gateways, "S01"),
        gateway_login(config, gateways, "S02"),
        controller_login(config, cluster.nodes[0].endpoint()),
    )


def assert_subscription_refused(login: Login, topic: str) -> None:
    """RabbitMQ closes the connection instead of acknowledging the subscription, and
    mosquitto_sub gives up with an error."""
    attempt = sub(login, topic, "-E", "-d", "-W", REFUSED_AFTER_S)
    assert attempt.returncode != 0
    assert "received SUBACK" not in attempt.stdout


def sub(login: Login, topic: str, *extra: str) -> subprocess.CompletedProcess[str]:
    """mosquitto_sub with a persistent session (-c); -W bounds how long it may take."""
    return subprocess.run(
        ["mosquitto_sub", *login.args(), "-c", "-t", topic, "-W", str(TIMEOUT_S), *extra],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S + 30,
        check=False,
    )


def receive_one(login: Login, topic: str, *extra: str) -> str:
    """The next message `login`'s persistent session holds on `topic` (mosquitto_sub -C 1)."""
    received = sub(login, topic, "-C", "1", *extra)
    assert received.returncode == 0, received.stderr
    return received.stdout.strip()


def pub(login: Login, topic: str, payload: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["mosquitto_pub", *login.args(), "-t", topic, "-m", payload],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )


def test_a_store_login_cannot_subscribe_to_another_stores_frames(
    rabbit_cluster: RabbitCluster, rabbit_config: WrittenRabbitConfig
) -> None:
    s01, s02, controller = two_stores_and_controller(rabbit_cluster, rabbit_config, 1)
    down_s01 = "esl/v1/S01/S01-gw1/down"

    # S01's own gateway sets up its session (subscription acknowledged, then it leaves).
    assert sub(s01, down_s01, "-E").returncode == 0
    # S02's login asks for S01's frames: RabbitMQ closes the connection instead of
    # acknowledging the subscription; mosquitto_sub gives up with an error.
    assert_subscription_refused(s02, down_s01)
    # The controller, on another node, sends S01 a frame: only S01's queued session has it.
    assert pub(controller, down_s01, "frame-for-S01").returncode == 0
    assert receive_one(s01, down_s01) == "frame-for-S01"


def test_a_store_login_cannot_publish_answers_as_another_store(
    rabbit_cluster: RabbitCluster, rabbit_config: WrittenRabbitConfig
) -> None:
    s01, s02, controller = two_stores_and_controller(rabbit_cluster, rabbit_config, 2)
    up_s01 = "esl/v1/S01/S01-gw1/up"

    # The controller's persistent subscription to every store's answers.
    assert sub(controller, "esl/v1/+/+/up", "-E").returncode == 0
    forged = pub(s02, up_s01, "forged-by-S02")
    assert forged.returncode != 0  # no PUBACK: the broker closed the connection
    assert pub(s01, up_s01, "answer-from-S01").returncode == 0
    # The session queue is first in, first out: had the forged answer been routed it
    # would come first.
    assert receive_one(controller, "esl/v1/+/+/up", "-v") == f"{up_s01} answer-from-S01"


def test_a_store_login_using_another_gateways_client_id_cannot_drain_its_session(
    rabbit_cluster: RabbitCluster, rabbit_config: WrittenRabbitConfig
) -> None:
    s01, s02, controller = two_stores_and_controller(rabbit_cluster, rabbit_config, 1)
    down_s01 = "esl/v1/S01/S01-gw1/down"
    assert sub(s01, down_s01, "-E").returncode == 0
    assert pub(controller, down_s01, "queued-for-S01").returncode == 0

    # S02's login under S01's client id: the session queue is S01's
    # (mqtt-subscription-<client id>qos1), which S02's login may not touch.
    impostor = Login(s02.endpoint, s01.client_id)
    for topic in (down_s01, "esl/v1/S02/S02-gw1/down"):
        assert_subscription_refused(impostor, topic)
    # The frame is still waiting for S01, and S01 gets it.
    assert receive_one(s01, down_s01) == "queued-for-S01"


def test_a_gateways_persistent_session_is_a_quorum_queue_on_every_node(
    rabbit_cluster: RabbitCluster, rabbit_config: WrittenRabbitConfig
) -> None:
    node_c = rabbit_cluster.nodes[2]
    s02 = gateway_login(rabbit_config, node_c.endpoint(), "S02")
    assert sub(s02, "esl/v1/S02/S02-gw1/down", "-E").returncode == 0

    listed = rabbit_cluster.nodes[0].ctl(
        "list_queues", "-p", "esl", "name", "type", "members", "--formatter", "json"
    )
    queues = {queue["name"]: queue for queue in json.loads(listed)}
    session = queues[f"mqtt-subscription-{s02.client_id}qos1"]
    assert session["type"] == "quorum"
    assert sorted(session["members"]) == sorted(node.name for node in rabbit_cluster.nodes)


def test_another_login_under_a_gateways_client_id_is_refused_but_disconnects_it_once(
    rabbit_cluster: RabbitCluster, rabbit_config: WrittenRabbitConfig
) -> None:
    """RabbitMQ 3.10 has no `use_username_as_clientid`: it registers the client id (and
    disconnects its holder) before it finds the login may not use that session. The holder
    reconnects and its session, with what was queued meanwhile, is intact."""
    node_a, node_b, node_c = (node.endpoint() for node in rabbit_cluster.nodes)
    s01 = gateway_login(rabbit_config, node_b, "S01")
    s02 = gateway_login(rabbit_config, node_c, "S02")
    controller = controller_login(rabbit_config, node_a)
    down_s01 = "esl/v1/S01/S01-gw1/down"
    seen = threading.Condition()
    subscribed: list[int] = []
    frames: list[bytes] = []

    holder = mqtt_client(s01.endpoint, client_id=s01.client_id, clean_session=False)
    holder.reconnect_delay_set(min_delay=1, max_delay=2)

    def on_connect(client: object, *_args: object) -> None:
        holder.subscribe(down_s01, qos=1)

    def on_subscribe(*_args: object) -> None:
        with seen:
            subscribed.append(1)
            seen.notify_all()

    def on_message(_c: object, _u: object, message: object) -> None:
        with seen:
            frames.append(bytes(message.payload))  # type: ignore[attr-defined]
            seen.notify_all()

    holder.on_connect = on_connect
    holder.on_subscribe = on_subscribe
    holder.on_message = on_message
    holder.connect(s01.endpoint.host, s01.endpoint.port, keepalive=10)
    holder.loop_start()
    try:
        _wait(seen, lambda: len(subscribed) == 1)
        impostor = sub(Login(s02.endpoint, s01.client_id), down_s01, "-E", "-d", "-W", "10")
        assert impostor.returncode != 0
        assert "received CONNACK (3)" in impostor.stdout
        # The holder was disconnected, came back and subscribed again...
        _wait(seen, lambda: len(subscribed) == 2)
        # ...and its session still delivers to it.
        assert pub(controller, down_s01, "after-the-impostor").returncode == 0
        _wait(seen, lambda: b"after-the-impostor" in frames)
    finally:
        stop_network_thread(holder)
        holder.disconnect()


def _wait(condition: threading.Condition, check: Callable[[], bool]) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    with condition:
        while not check():
            remaining = deadline - time.monotonic()
            assert remaining > 0, "timed out"
            condition.wait(remaining)
