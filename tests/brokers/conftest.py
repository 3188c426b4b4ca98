"""One RabbitMQ cluster (three nodes, MQTT plugin) for every test of this folder.

A three-node cluster boots in 20-40 s here, so it is module-wide and its tests share one
xdist group (one worker). The nodes load the files `esl mqtt config --broker rabbitmq`
writes, for the stores the tests use; a test that kills a node brings it back with
`cluster.ensure_running()` before it ends.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from esl.mqtt.rabbitmq_config import WrittenRabbitConfig, write_rabbitmq_config
from tests.support.rabbitmq_cluster import RabbitCluster

# Stores the permission tests use (S01, S02) and the chain's (C01, C02).
STORES = ("S01", "S02", "C01", "C02")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.xdist_group("rabbitmq"))
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="module")
def rabbit_config(tmp_path_factory: pytest.TempPathFactory) -> WrittenRabbitConfig:
    directory = tmp_path_factory.mktemp("rabbitmq-config")
    return write_rabbitmq_config(directory, [(store, f"{store}-gw1") for store in STORES])


@pytest.fixture(scope="module")
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
