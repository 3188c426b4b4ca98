"""The OpenEPaperLink chain on real parts for tests: the controller (paho driver) ->
Mosquitto -> the store gateway (in this process, or `esl gateway oepl` as its own
process) -> the emulated AP -> emulated tags."""

from __future__ import annotations

import asyncio
import subprocess
import sys
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
from gateways.mqtt.endpoint import parse_broker_url
from gateways.oepl import AccessPointClient, AccessPointDriver, DriverTimings
from gateways.oepl.radio import OeplRadio
from gateways.store_gateway.process import (
    StoreGatewayProcess,
    open_local_state,
    read_gateway_provisioning,
    take_label_file,
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

    @property
    def sessions(self) -> sessionmaker[Session]:
        return session_factory(self.engine)

    @property
    def provisioning(self) -> Path:
        return self.state_dir / f"{GATEWAY}-labels.json"

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

    async def start_gateway(self) -> StoreGatewayProcess:
        state = open_local_state(self.state_dir / f"{GATEWAY}.sqlite")
        take_label_file(state, read_gateway_provisioning(self.provisioning))
        radio = OeplRadio(
            AccessPointDriver(AccessPointClient(self.served.url), timings=FAST_DRIVER)
        )
        process = StoreGatewayProcess(
            store=STORE,
            gateway=GATEWAY,
            endpoint=parse_broker_url(self.broker.url),
            radio=radio,
            state=state,
            health_every_s=0.5,
        )
        await process.start()
        self.process = process
        return process

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

    async def stop_gateway(self) -> None:
        assert self.process is not None
        await self.process.stop()
        await self.process.radio.close()
        self.process.state.close()
        self.process = None

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
