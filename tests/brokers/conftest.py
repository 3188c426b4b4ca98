"""One RabbitMQ cluster (three nodes, MQTT plugin) for every test of this folder.

A three-node cluster boots in 20-80 s on a loaded 2-core machine and the failover test
takes a minute or two, so the cluster is session-wide and its tests share one xdist group:
under `make test` they run on one worker while the other runs the rest of the suite.
`make test-cluster` runs only these.
The nodes load the files `esl mqtt config --broker rabbitmq` writes, for the stores the
tests use; a test that kills a node brings it back with
`cluster.ensure_running()` before it ends, and every test starts on a cluster whose
three nodes accept MQTT (`whole_cluster`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from esl.mqtt.rabbitmq_config import WrittenRabbitConfig, write_rabbitmq_config
from tests.support.rabbitmq_cluster import RabbitCluster
from tests.workers.database import STORES as WORKER_STORES

# Seeded stores S01 and S02, each with the gateway the permission tests use (gw1) and the
# one the chain runs (gw2); the six stores of the three-worker chain with gw3: no test
# meets another's session queue.
GATEWAYS = [(store, f"{store}-gw{n}") for n in (1, 2) for store in ("S01", "S02")] + [
    (store, f"{store}-gw3") for store in WORKER_STORES
]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in (item for item in items if here in item.path.parents):
        item.add_marker(pytest.mark.xdist_group("rabbitmq"))
        item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def rabbit_config(tmp_path_factory: pytest.TempPathFactory) -> WrittenRabbitConfig:
    directory = tmp_path_factory.mktemp("rabbitmq-config")
    return write_rabbitmq_config(directory, GATEWAYS)


@pytest.fixture(scope="session")
def rabbit_cluster(
    rabbit_config: WrittenRabbitConfig, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RabbitCluster]:
    cluster = RabbitCluster.create(
        tmp_path_factory.mktemp("rabbitmq"), rabbit_config.conf.parent, nodes=3
    )
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(autouse=True)
def whole_cluster(rabbit_cluster: RabbitCluster) -> None:
    """Each test begins with every node up and accepting MQTT: a node an earlier test
    killed and booted again is checked, not trusted."""
    rabbit_cluster.ensure_running()
