"""The OpenEPaperLink chain on real parts for tests: the controller (paho driver) ->
Mosquitto -> the store gateway (in this process, or `esl gateway oepl` as its own
process) -> the emulated AP -> emulated tags."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from esl.composition import RunningController
from esl.db.engine import session_factory
from esl.pipeline.oepl_tags import import_access_point_tags
from firmware_sim.oepl_ap.http_app import ServedAccessPoint
from gateways.base import GatewayState, GatewayStatus
from gateways.mqtt.driver import MqttGateway
from gateways.mqtt.endpoint import BrokerEndpoint, parse_broker_url
from gateways.oepl import AccessPointClient, AccessPointDriver, DriverTimings
from gateways.oepl.radio import OeplRadio
from gateways.store_gateway.process import (
    StoreGatewayProcess,
    open_store_gateway,
    read_gateway_provisioning,
)
from tests.fixtures.mosquitto import MosquittoProcess
from tests.support.cli_process import ROOT
from tests.support.clock import wall_clock
from tests.support.outbox import open_outbox_rows
from tests.support.pipeline import SKUS, bind_round_robin, expected_planes
from tests.support.store_chain import start_wall_clock_controller, wait_converged

__all__ = ["FAST_DRIVER", "GATEWAY", "STORE", "OeplChain"]

STORE = "S01"  # seeded by the reference data
GATEWAY = "S01-ap1"
FAST_DRIVER = DriverTimings(poll_s=0.02, confirm_timeout_s=3.0, busy_base_delay_s=0.01)


@dataclass
class OeplChain:
    engine: Engine
    broker: MosquittoProcess
    served: ServedAccessPoint
    state_dir: Path
    bindings: dict[str, str] = field(default_factory=dict)
    process: StoreGatewayProcess | None = None
    gateway_process: subprocess.Popen[bytes] | None = None
    controller: RunningController | None = None
    # The in-process gateway opened (`open_store_gateway`): closing it closes its state
    # and radio.
    _opened_gateway: AsyncExitStack | None = field(default=None, repr=False)

    @property
    def sessions(self) -> sessionmaker[Session]:
        return session_factory(self.engine)

    @property
    def provisioning(self) -> Path:
        return self.state_dir / f"{GATEWAY}-labels.json"

    @property
    def state_path(self) -> Path:
        """The in-process gateway's state file (`start_gateway`)."""
        return self.state_dir / f"{STORE}-{GATEWAY}.sqlite"

    async def import_tags(self) -> list[tuple[str, str]]:
        driver = AccessPointDriver(AccessPointClient(self.served.url), timings=FAST_DRIVER)
        try:
            imported = await import_access_point_tags(
                self.sessions,
                driver,
                store=STORE,
                gateway=GATEWAY,
                provisioning=self.provisioning,
                now=wall_clock(),
            )
        finally:
            await driver.close()
        with self.sessions.begin() as session:
            label_ids = [label.label_id for label in imported.labels]
            self.bindings.update(bind_round_robin(session, label_ids, skus=SKUS, now=wall_clock()))
        return imported.skipped

    async def start_gateway(
        self,
        *,
        timings: DriverTimings = FAST_DRIVER,
        health_every_s: float = 0.5,
        endpoint: BrokerEndpoint | None = None,
    ) -> StoreGatewayProcess:
        """The store gateway in this process, opened as `esl gateway oepl` opens it
        (`open_store_gateway`: its state at `state_path` made what the label file says)
        over a driver of `timings`, and started; it reaches the broker at `endpoint`
        (a link to it) when given."""
        labels = read_gateway_provisioning(self.provisioning)
        radio = OeplRadio(AccessPointDriver(AccessPointClient(self.served.url), timings=timings))
        opened_gateway = AsyncExitStack()
        opened = await opened_gateway.enter_async_context(
            open_store_gateway(
                labels,
                radio,
                store=STORE,
                gateway=GATEWAY,
                endpoint=endpoint or parse_broker_url(self.broker.url),
                state_dir=self.state_dir,
                health_every_s=health_every_s,
            )
        )
        self._opened_gateway = opened_gateway
        self.process = opened.process
        await self.process.start()
        return self.process

    async def start_gateway_process(self) -> None:
        """`esl gateway oepl` as an operator runs it, its own process (output discarded);
        returns once it is online at the broker."""
        self.gateway_process = subprocess.Popen(
            [sys.executable, "-c", "from esl.cli import main; main()", "gateway", "oepl",
             "--store", STORE, "--gateway", GATEWAY, "--ap", self.served.url,
             "--broker", self.broker.url, "--provisioning", str(self.provisioning),
             "--state-dir", str(self.state_dir / "gateway"), "--poll-s", "0.02",
             "--health-every-s", "0.3"],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        # Frames sent before it subscribed would be lost: wait for its retained "online".
        watcher = MqttGateway(parse_broker_url(self.broker.url))
        await watcher.start()
        try:
            async with asyncio.timeout(180):  # it imports slowly on a loaded machine
                async for event in watcher.events():
                    if (
                        isinstance(event, GatewayStatus)
                        and event.gateway == GATEWAY
                        and event.state is GatewayState.ONLINE
                    ):
                        return
        finally:
            await watcher.stop()

    async def stop_gateway(self, *, crash: bool = False) -> None:
        """Stop the in-process gateway (`crash`: as a power cut would, no goodbye and
        nothing more written), its state and radio closed."""
        assert self.process is not None
        assert self._opened_gateway is not None
        await (self.process.crash() if crash else self.process.stop())
        await self._opened_gateway.aclose()
        self.process = self._opened_gateway = None

    async def start_controller(self) -> None:
        self.controller = await start_wall_clock_controller(
            self.broker.url, self.sessions, ack_timeout=timedelta(seconds=4), max_attempts=8
        )

    def mismatches(self) -> list[str]:
        wrong = []
        with self.sessions() as session:
            for label_id, sku in self.bindings.items():
                due = expected_planes(session, label_id=label_id, sku=sku, at=wall_clock())
                if self.served.ap.tags[label_id].shown_planes() != due:
                    wrong.append(label_id)
        return wrong

    def open_rows(self) -> int:
        return open_outbox_rows(self.sessions)

    async def wait_converged(self, *, timeout_s: float = 60.0) -> None:
        await wait_converged(self.mismatches, self.open_rows, timeout_s=timeout_s)

    async def close(self) -> None:
        if self.controller is not None:
            await self.controller.stop()
        if self.process is not None:
            await self.stop_gateway()
        if self.gateway_process is not None:
            self.gateway_process.terminate()
            await asyncio.to_thread(self.gateway_process.wait, 30)
