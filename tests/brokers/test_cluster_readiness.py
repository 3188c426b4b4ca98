"""The cluster fixture's readiness check is not fooled by another broker on a node's port.

Free ports are picked before a node binds them, so another test run's Mosquitto (which
lets anyone in) can take one first. A CI run once took such a broker for a booted node:
the cluster was declared up and the next tests met a refused connection or messages that
never crossed the cluster.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from tests.fixtures.mosquitto import start_mosquitto
from tests.support.rabbitmq_cluster import RabbitCluster


def test_a_node_whose_port_answers_as_an_anonymous_broker_is_not_taken_for_ready(
    rabbit_cluster: RabbitCluster, tmp_path: Path
) -> None:
    impostor = start_mosquitto(tmp_path)
    try:
        node = rabbit_cluster.nodes[-1]
        # The running node as the fixture would see it had the impostor got its MQTT port.
        hijacked = dataclasses.replace(node, mqtt_port=impostor.port)
        with pytest.raises(RuntimeError, match="another broker's"):
            hijacked.wait_mqtt(rabbit_cluster.probe_endpoint(hijacked), timeout_s=3)
        # The node itself still passes the same check.
        node.wait_mqtt(rabbit_cluster.probe_endpoint(node), timeout_s=30)
    finally:
        impostor.stop()
