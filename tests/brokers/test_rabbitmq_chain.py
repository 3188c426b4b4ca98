"""The chain on a three-node RabbitMQ cluster: the controller on node A, the store
gateways on node B, unchanged code on both sides. Then node B dies mid-publication."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from esl.mqtt.rabbitmq_config import WrittenRabbitConfig
from gateways.mqtt.endpoint import BrokerEndpoint
from tests.support.clock import wall_clock
from tests.support.database import seeded_sqlite_engine
from tests.support.pipeline import publish_prices
from tests.support.rabbitmq_chain import ClusterChain, FailoverFrontDoor
from tests.support.rabbitmq_cluster import HOST, RabbitCluster
from tests.support.waiting import until

STORES = ("S01", "S02")
CHAIN_GATEWAY = "gw2"  # the accounts conftest.GATEWAYS gives the chain
LABELS_PER_STORE = 24
# Frames in flight per gateway: small, so a publication to 24 labels takes several rounds
# and is still under way when the node dies.
WINDOW = 4
CONVERGE_TIMEOUT_S = 180.0


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    with seeded_sqlite_engine(tmp_path) as engine:
        yield engine


@pytest.fixture
async def front_door(rabbit_cluster: RabbitCluster) -> AsyncIterator[FailoverFrontDoor]:
    """The gateways' address: node B, and node A when B does not answer."""
    node_a, node_b = rabbit_cluster.nodes[0], rabbit_cluster.nodes[1]
    door = FailoverFrontDoor([node_b.mqtt_port, node_a.mqtt_port])
    await door.start()
    yield door
    await door.close()


@pytest.fixture
async def chain(
    engine: Engine,
    rabbit_cluster: RabbitCluster,
    rabbit_config: WrittenRabbitConfig,
    front_door: FailoverFrontDoor,
    tmp_path: Path,
) -> AsyncIterator[ClusterChain]:
    chain = ClusterChain.on_cluster(
        engine,
        rabbit_cluster,
        rabbit_config,
        gateway_endpoints={
            account.store: BrokerEndpoint(HOST, front_door.port, account.username, account.password)
            for account in rabbit_config.accounts.gateways
            if account.gateway.endswith(CHAIN_GATEWAY)
        },
        state_dir=tmp_path / "sim",
    )
    yield chain
    await chain.close()
    rabbit_cluster.ensure_running()


async def test_the_chain_converges_across_nodes_and_outlives_the_gateways_node(
    chain: ClusterChain, rabbit_cluster: RabbitCluster, front_door: FailoverFrontDoor
) -> None:
    node_a, node_b = rabbit_cluster.nodes[0], rabbit_cluster.nodes[1]
    publish_prices(
        chain.sessions, {"MLK-1": "3.49", "CHS-1": "8.99", "CFE-1": "59.99"}, now=wall_clock()
    )
    for store in STORES:
        chain.add_store(store, labels=LABELS_PER_STORE, gateway=f"{store}-{CHAIN_GATEWAY}")
        await chain.start_gateway(store)
    assert front_door.routed == [node_b.mqtt_port] * len(STORES)
    await chain.start_controller(window=WINDOW)
    started = time.monotonic()
    await chain.wait_converged(wall_clock(), timeout_s=CONVERGE_TIMEOUT_S)
    first_s = time.monotonic() - started
    assert chain.record_mismatches() == []

    # A price change; node B is killed once the first labels show it.
    publish_prices(
        chain.sessions, {"MLK-1": "2.99", "CHS-1": "7.49", "CFE-1": "54.99"}, now=wall_clock()
    )
    total = len(STORES) * LABELS_PER_STORE
    await until(
        lambda: len(chain.mismatches(wall_clock())) < total,
        what="the first new images on the shelf",
        timeout_s=CONVERGE_TIMEOUT_S,
    )
    open_at_kill = chain.open_rows()
    killed_at = time.monotonic()
    node_b.kill()
    assert open_at_kill > 0, "the publication was already over: nothing was in flight"

    # Both gateways reconnect through the front door, to node A, and resume their sessions;
    # every label ends on its due price, and the controller's record agrees with the panels.
    await until(
        lambda: (
            front_door.routed.count(node_a.mqtt_port) >= len(STORES)
            and all(runner._connected.is_set() for runner in chain.runners.values())
        ),
        what="the gateways to reconnect to node A",
        timeout_s=CONVERGE_TIMEOUT_S,
    )
    reconnected_s = time.monotonic() - killed_at
    await chain.wait_converged(wall_clock(), timeout_s=CONVERGE_TIMEOUT_S)
    converged_s = time.monotonic() - killed_at
    assert chain.record_mismatches() == []
    print(  # the failover figures docs/clustered-broker.md quotes (pytest -s shows them)
        f"rabbitmq failover: boot {rabbit_cluster.boot_seconds:.1f} s, first publication "
        f"converged in {first_s:.1f} s, {open_at_kill} rows open at the kill, gateways back "
        f"on node A after {reconnected_s:.1f} s, converged {converged_s:.1f} s after the kill"
    )
