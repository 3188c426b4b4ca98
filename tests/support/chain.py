"""The demo's chain (`esl.demo.chain.SimulatedChain`) on a real Mosquitto, with hooks the
tests need: a store added in one call, gateways on an accelerated clock, the controller
stopped or crashed at will, and convergence checked against the reference render.

Every part is the real one: SQLite, the paho driver, firmware_sim store gateways
registered from their own provisioning files, and the controller the composition root
builds. The simulated gateways run on an accelerated clock (labels check in every few
simulated seconds, a 15 s panel refresh takes under a second of test time); the controller
runs on the wall clock. Scheduled flips are tested without MQTT (shared_clock_store.py),
where both sides share one clock.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, select

from esl.db.models import LabelStateRow
from esl.demo.chain import ChainTimings, SimulatedChain
from esl.pipeline import UpdateController
from esl.pipeline.database_outage import DatabaseRetry
from esl.settings import Settings
from firmware_sim.faults import FaultPlan
from firmware_sim.simulation import SimulatedSite
from gateways.mqtt.endpoint import parse_broker_url
from rendering.encoding import Planes, content_hash
from tests.fixtures.mosquitto import MosquittoProcess
from tests.support.clock import SIM_SPEED, fast_clock, wall_clock
from tests.support.outbox import open_outbox_rows
from tests.support.pipeline import SKUS, expected_planes
from tests.support.store_chain import wait_converged

__all__ = ["TEST_TIMINGS", "Chain", "quick_demo_timings", "wall_clock_chain"]

# Quick retries so a lost frame costs a test seconds, not minutes.
TEST_TIMINGS = ChainTimings(
    check_in_interval_s=4.0,
    ack_timeout=timedelta(seconds=2),
    retry_base_delay=timedelta(milliseconds=200),
    retry_max_delay=timedelta(seconds=2),
    max_attempts=6,
    # Simulated time: the controller waits 20 s of its own clock for a busy label.
    busy_delay=timedelta(seconds=20) * SIM_SPEED,
    window=16,
    poll_every=timedelta(milliseconds=100),
    sim_speed=SIM_SPEED,
    gateway_tick_s=0.01,
    gateway_restart_downtime_s=0.2,
    max_in_flight=50,
    reconnect_delay_s=(1, 2),
)


def quick_demo_timings(
    *, ack_timeout: timedelta, max_attempts: int = 3, vitals_every: timedelta | None = None
) -> ChainTimings:
    """Labels 20x faster than real time, and a controller that gives up on a silent label
    after `max_attempts` short tries, so an `esl demo` run takes seconds."""
    timings = ChainTimings(
        sim_speed=20.0,
        ack_timeout=ack_timeout,
        retry_base_delay=timedelta(milliseconds=200),
        retry_max_delay=timedelta(seconds=1),
        max_attempts=max_attempts,
    )
    return timings if vitals_every is None else replace(timings, vitals_every=vitals_every)


@dataclass
class Chain(SimulatedChain):
    """Stores with simulated gateways and a controller, all on one Mosquitto."""

    mosquitto: MosquittoProcess = field(kw_only=True)

    def add_store(
        self,
        store: str,
        *,
        labels: int,
        faults: FaultPlan | None = None,
        gateway: str = "",
        check_in_interval_s: float = 4.0,
    ) -> SimulatedSite:
        """A store with `labels` labels behind gateway `gw<store>`, bound to SKUS in turn."""
        self.install_store(
            store,
            labels=labels,
            skus=SKUS,
            faults=faults,
            gateway=gateway or f"gw{store}",
            check_in_interval_s=check_in_interval_s,
        )
        return self.sites[store]

    def gateway_clock(self) -> Callable[[], datetime]:
        # Each start (and restart) of a gateway begins its accelerated time at the wall
        # clock's now.
        return fast_clock(wall_clock(), self.timings.sim_speed)

    async def start_controller(
        self,
        *,
        seed: int = 1,
        window: int | None = None,
        database_retry: DatabaseRetry | None = None,
        label_clock_tolerance: timedelta | None = None,
    ) -> UpdateController:
        changes: dict[str, object] = {}
        if window is not None:
            changes["window"] = window
        if database_retry is not None:
            changes["database_retry"] = database_retry
        if label_clock_tolerance is not None:  # labels on real time: their clocks judged
            changes["label_clock_tolerance"] = label_clock_tolerance
        return await super().start_controller(seed=seed, **changes)

    @property
    def controller(self) -> UpdateController | None:
        return None if self.running is None else self.running.controller

    @property
    def controller_task(self) -> asyncio.Task[None] | None:
        return None if self.running is None else self.running.task

    def open_rows(self) -> int:
        return open_outbox_rows(self.sessions)

    def converged(self, at: datetime) -> bool:
        """Every label's panel shows exactly the reference render of its price at `at`."""
        return not self.mismatches(at)

    def mismatches(self, at: datetime) -> list[str]:
        wrong = []
        references: dict[tuple[str, str], Planes] = {}
        with self.sessions() as session:
            for site in self.sites.values():
                for label_id, label in site.gateway.labels.items():
                    sku = self.bindings[label_id]
                    key = (site.config.store, sku)
                    if key not in references:
                        references[key] = expected_planes(
                            session, label_id=label_id, sku=sku, at=at
                        )
                    if label.shown != references[key]:
                        wrong.append(label_id)
        return wrong

    async def wait_converged(self, at: datetime, *, timeout_s: float = 40.0) -> None:
        await wait_converged(lambda: self.mismatches(at), self.open_rows, timeout_s=timeout_s)

    def record_mismatches(self) -> list[str]:
        """Labels whose panel is not what the controller recorded as confirmed."""
        with self.sessions() as session:
            records = {row.label_id: row for row in session.scalars(select(LabelStateRow))}
        wrong = []
        for site in self.sites.values():
            for label_id, label in site.gateway.labels.items():
                shown = None if label.shown is None else content_hash(label.shown).hex()
                record = records[label_id].confirmed_hash if label_id in records else None
                if shown is None or shown != record:
                    wrong.append(label_id)
        return wrong


@asynccontextmanager
async def wall_clock_chain(
    engine: Engine, mosquitto: MosquittoProcess, state_dir: Path
) -> AsyncIterator[Chain]:
    """The chain of the pipeline and worker tests: default settings, the controller on the
    wall clock, TEST_TIMINGS; closed (gateways and controller stopped) on the way out."""
    chain = Chain(
        engine=engine,
        broker=parse_broker_url(mosquitto.url),
        mosquitto=mosquitto,
        state_dir=state_dir,
        clock=wall_clock,
        settings=Settings.defaults(),
        timings=TEST_TIMINGS,
    )
    try:
        yield chain
    finally:
        await chain.close()
