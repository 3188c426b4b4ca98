"""The chain (tests/support/chain.py) on a RabbitMQ cluster: the controller logs in on one
node, each store's gateway on another (through a failover front door), every client with
the per-store credentials `esl mqtt config --broker rabbitmq` generated.

`FailoverFrontDoor` is what a deployment puts in front of a cluster (an HAProxy with the
other nodes as `backup` servers, or DNS with several addresses): one address for the
gateways, each new TCP connection relayed to the first node that accepts it. A gateway
whose node dies sees its connection drop, reconnects to the same address and lands on a
surviving node. The store gateways themselves are the unmodified firmware_sim ones.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field, replace
from pathlib import Path

from sqlalchemy import Engine

from esl.mqtt.rabbitmq_config import WrittenRabbitConfig
from esl.settings import Settings
from gateways.mqtt.endpoint import BrokerEndpoint
from tests.fixtures.mosquitto import MosquittoProcess
from tests.support.chain import TEST_TIMINGS, Chain
from tests.support.clock import wall_clock
from tests.support.rabbitmq_cluster import RabbitCluster

__all__ = ["ClusterChain", "FailoverFrontDoor"]

_HOST = "127.0.0.1"
_CONNECT_TIMEOUT_S = 5.0
# A gateway's login goes through a node that shares two cores with two others.
_CLUSTER_TIMINGS = replace(TEST_TIMINGS, gateway_connect_timeout_s=30.0)


class FailoverFrontDoor:
    """A loopback TCP listener relaying each connection to the first upstream port that
    accepts it; `routed` lists the upstream each connection went to, in order."""

    def __init__(self, upstream_ports: list[int]) -> None:
        self.upstream_ports = upstream_ports
        self.routed: list[int] = []
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.Task[None]] = set()
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, _HOST, 0)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for task in list(self._pipes):
            task.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for port in self.upstream_ports:
            try:
                upstream = await asyncio.wait_for(
                    asyncio.open_connection(_HOST, port), _CONNECT_TIMEOUT_S
                )
            except (OSError, TimeoutError):
                continue
            self.routed.append(port)
            up_reader, up_writer = upstream
            pipes = [
                asyncio.create_task(_pipe(reader, up_writer)),
                asyncio.create_task(_pipe(up_reader, writer)),
            ]
            self._pipes.update(pipes)
            # Either side closing closes both: the client must see its node go away.
            await asyncio.wait(pipes, return_when=asyncio.FIRST_COMPLETED)
            for task in pipes:
                task.cancel()
                self._pipes.discard(task)
            for stream in (up_writer, writer):
                stream.close()
            return
        writer.close()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError):
        while chunk := await reader.read(65536):
            writer.write(chunk)
            await writer.drain()


@dataclass
class ClusterChain(Chain):
    """`broker` is the controller's endpoint (its node, its login); each store's gateway
    logs in at `gateway_endpoints[store]` with that store's own login."""

    # No Mosquitto here: the broker is the cluster.
    mosquitto: MosquittoProcess | None = field(default=None, kw_only=True)
    gateway_endpoints: dict[str, BrokerEndpoint] = field(default_factory=dict, kw_only=True)

    @classmethod
    def on_cluster(
        cls,
        engine: Engine,
        cluster: RabbitCluster,
        config: WrittenRabbitConfig,
        gateway_endpoints: dict[str, BrokerEndpoint],
        state_dir: Path,
    ) -> ClusterChain:
        """The controller on node 0 with the controller login `esl mqtt config --broker
        rabbitmq` wrote, each store's gateway at `gateway_endpoints[store]`; the wall
        clock, the tests' pace."""
        login = config.accounts.controller
        return cls(
            engine=engine,
            broker=cluster.nodes[0].endpoint(login.username, login.password),
            gateway_endpoints=gateway_endpoints,
            state_dir=state_dir,
            clock=wall_clock,
            settings=Settings.defaults(),
            timings=_CLUSTER_TIMINGS,
        )

    def gateway_endpoint(self, store: str) -> BrokerEndpoint:
        return self.gateway_endpoints[store]
