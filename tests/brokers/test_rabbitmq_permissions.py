"""Per-store credentials and persistent sessions on the RabbitMQ cluster, checked with the
real Mosquitto clients: a store's gateway login reads only its own frames and writes only
its own answers, on whichever node it logs in; its session lives on every node."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass

from esl.mqtt.rabbitmq_config import WrittenRabbitConfig
from gateways.mqtt.endpoint import BrokerEndpoint
from gateways.mqtt.store_gateway import store_gateway_client_id
from tests.support.rabbitmq_cluster import RabbitCluster

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


def sub(login: Login, topic: str, *extra: str) -> subprocess.CompletedProcess[str]:
    """mosquitto_sub with a persistent session (-c); -W bounds how long it may take."""
    return subprocess.run(
        ["mosquitto_sub", *login.args(), "-c", "-t", topic, "-W", str(TIMEOUT_S), *extra],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S + 30,
        check=False,
    )


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
    node_a, node_b = rabbit_cluster.nodes[0].endpoint(), rabbit_cluster.nodes[1].endpoint()
    s01, s02 = (
        gateway_login(rabbit_config, node_b, "S01"),
        gateway_login(rabbit_config, node_b, "S02"),
    )
    controller = controller_login(rabbit_config, node_a)
    down_s01 = "esl/v1/S01/S01-gw1/down"

    # S01's own gateway sets up its session (subscription acknowledged, then it leaves).
    assert sub(s01, down_s01, "-E").returncode == 0
    # S02's login asks for S01's frames: RabbitMQ closes the connection instead of
    # acknowledging the subscription; mosquitto_sub gives up with an error.
    stolen = sub(s02, down_s01, "-E", "-d", "-W", REFUSED_AFTER_S)
    assert stolen.returncode != 0
    assert "received SUBACK" not in stolen.stdout
    # The controller, on another node, sends S01 a frame: only S01's queued session has it.
    assert pub(controller, down_s01, "frame-for-S01").returncode == 0
    delivered = sub(s01, down_s01, "-C", "1")
    assert delivered.returncode == 0
    assert delivered.stdout.strip() == "frame-for-S01"


def test_a_store_login_cannot_publish_answers_as_another_store(
    rabbit_cluster: RabbitCluster, rabbit_config: WrittenRabbitConfig
) -> None:
    node_a, node_b = rabbit_cluster.nodes[0].endpoint(), rabbit_cluster.nodes[2].endpoint()
    s01, s02 = (
        gateway_login(rabbit_config, node_b, "S01"),
        gateway_login(rabbit_config, node_b, "S02"),
    )
    controller = controller_login(rabbit_config, node_a)
    up_s01 = "esl/v1/S01/S01-gw1/up"

    # The controller's persistent subscription to every store's answers.
    assert sub(controller, "esl/v1/+/+/up", "-E").returncode == 0
    forged = pub(s02, up_s01, "forged-by-S02")
    assert forged.returncode != 0  # no PUBACK: the broker closed the connection
    assert pub(s01, up_s01, "answer-from-S01").returncode == 0
    # The session queue is first in, first out: had the forged answer been routed it
    # would come first.
    received = sub(controller, "esl/v1/+/+/up", "-C", "1", "-v")
    assert received.returncode == 0
    assert received.stdout.strip() == f"{up_s01} answer-from-S01"


def test_a_store_login_using_another_gateways_client_id_cannot_drain_its_session(
    rabbit_cluster: RabbitCluster, rabbit_config: WrittenRabbitConfig
) -> None:
    node_a, node_b = rabbit_cluster.nodes[0].endpoint(), rabbit_cluster.nodes[1].endpoint()
    s01, s02 = (
        gateway_login(rabbit_config, node_b, "S01"),
        gateway_login(rabbit_config, node_b, "S02"),
    )
    controller = controller_login(rabbit_config, node_a)
    down_s01 = "esl/v1/S01/S01-gw1/down"
    assert sub(s01, down_s01, "-E").returncode == 0
    assert pub(controller, down_s01, "queued-for-S01").returncode == 0

    # S02's login under S01's client id: the session queue is S01's
    # (mqtt-subscription-<client id>qos1), which S02's login may not touch.
    impostor = Login(s02.endpoint, s01.client_id)
    for topic in (down_s01, "esl/v1/S02/S02-gw1/down"):
        attempt = sub(impostor, topic, "-E", "-d", "-W", REFUSED_AFTER_S)
        assert attempt.returncode != 0
        assert "received SUBACK" not in attempt.stdout
    # The frame is still waiting for S01, and S01 gets it.
    delivered = sub(s01, down_s01, "-C", "1")
    assert delivered.returncode == 0
    assert delivered.stdout.strip() == "queued-for-S01"


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
