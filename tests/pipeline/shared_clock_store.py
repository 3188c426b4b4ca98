"""One store on real parts where the controller and the labels share one accelerated clock.

The `chain` fixture runs the controller on the wall clock and the simulated labels on a
faster one, which is right for price changes but makes a timed image flip early. Here
both sides read the same clock, so a change published "2 minutes ahead" flips when the
labels' clock reaches that instant, and a test can compare each panel with what is due
before and after it. Real parts: SQLite, the paho driver, a real Mosquitto, a
firmware_sim store gateway with listening labels.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from esl.composition import build_controller, controller_settings, controller_transport
from esl.db.engine import session_factory
from esl.pipeline import RetryPolicy, UpdateController
from esl.pipeline.label_clocks import CLOCK_TOLERANCE
from esl.pipeline.provisioning import register_provisioned_labels
from esl.services.labels import bind_label
from esl.settings import Settings
from firmware_sim.fleet import read_provisioning
from firmware_sim.label import SimulatedLabel
from firmware_sim.mqtt_gateway import BrokerSettings, MqttStoreGateway
from firmware_sim.simulation import SimulatedSite, SiteConfig, open_simulated_gateway
from gateways.mqtt.driver import MqttGateway
from gateways.mqtt.endpoint import parse_broker_url
from rendering.encoding import Planes
from tests.fixtures.mosquitto import MosquittoProcess
from tests.support.outbox import open_outbox_rows
from tests.support.pipeline import ADMIN, expected_planes, publish

OPEN = ("pending", "sent", "parked", "held")


class SharedClock:
    """Simulated time running `speed` times faster than the wall clock, for everyone."""

    def __init__(self, start: datetime, speed: float) -> None:
        self.start = start
        self.speed = speed
        self._origin = time.monotonic()

    def __call__(self) -> datetime:
        return self.start + timedelta(seconds=(time.monotonic() - self._origin) * self.speed)

    async def sleep_until(self, instant: datetime) -> None:
        remaining = (instant - self()).total_seconds()
        if remaining > 0:
            await asyncio.sleep(remaining / self.speed)

    def jump_to(self, instant: datetime) -> None:
        """Move simulated time forward to `instant` at once, as an idle night passes; a test
        that waits for work due before an instant then need not race the wall clock."""
        ahead = instant - self()
        if ahead > timedelta(0):
            self.start += ahead


@dataclass
class SharedClockStore:
    engine: Engine
    broker: MosquittoProcess
    state_dir: Path
    clock: SharedClock
    store: str = "S01"
    gateway_id: str = "gw-S01"
    site: SimulatedSite | None = None
    runner: MqttStoreGateway | None = None
    bindings: dict[str, str] = field(default_factory=dict)  # label -> sku
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _controller_stop: asyncio.Event | None = None
    _transport: MqttGateway | None = None
    controller: UpdateController | None = None
    _controller_task: asyncio.Task[None] | None = None

    @property
    def sessions(self) -> sessionmaker[Session]:
        return session_factory(self.engine)

    @property
    def labels(self) -> dict[str, SimulatedLabel]:
        assert self.site is not None
        return self.site.gateway.labels

    def install(self, count: int, *, skus: Iterable[str] | None) -> list[str]:
        """Provision `count` labels; bind them round-robin to `skus` (None: leave unbound)."""
        config = SiteConfig(
            store=self.store,
            gateway=self.gateway_id,
            state_dir=self.state_dir,
            label_count=count,
            model_id="2.9-bwr",
            check_in_interval_s=4.0,
            report_check_ins=True,
            listening=True,
        )
        now = self.clock()
        self.site = open_simulated_gateway(config, now=now)
        provisions = read_provisioning(config.manifest_path)
        with self.sessions.begin() as session:
            register_provisioned_labels(
                session, provisions, store=self.store, gateway=self.gateway_id, now=now
            )
        label_ids = [p.label_id for p in provisions]
        if skus is not None:
            self.bind(dict(zip(label_ids, _cycle(list(skus), len(label_ids)), strict=True)))
        return label_ids

    def bind(self, bindings: dict[str, str]) -> None:
        with self.sessions.begin() as session:
            for label_id, sku in bindings.items():
                bind_label(
                    session,
                    principal=ADMIN,
                    label_id=label_id,
                    sku=sku,
                    template="standard",
                    now=self.clock(),
                )
        self.bindings.update(bindings)

    async def start_gateway(self) -> None:
        assert self.site is not None
        self.runner = MqttStoreGateway(
            self.site,
            BrokerSettings(host=self.broker.host, port=self.broker.port),
            clock=self.clock,
            tick_s=0.01,
        )
        self._tasks.append(asyncio.create_task(self.runner.run()))
        await self.runner.wait_connected()

    async def start_controller(self) -> UpdateController:
        transport = controller_transport(
            parse_broker_url(self.broker.url),
            max_in_flight=200,
            reconnect_delay_s=(1, 2),
            clock=self.clock,
        )
        await transport.start()
        speed = self.clock.speed
        # Retry timing in simulated time: a few wall-clock seconds before a resend.
        controller = build_controller(
            controller_settings(
                Settings.defaults(),
                window=128,
                poll_every=timedelta(milliseconds=100),
                policy=RetryPolicy(
                    ack_timeout=timedelta(seconds=4 * speed),
                    base_delay=timedelta(seconds=0.2 * speed),
                    max_delay=timedelta(seconds=2 * speed),
                    busy_delay=timedelta(seconds=20),
                    max_attempts=8,
                ),
                # Judged in simulated time, a label's clock looks off by the relay's lag
                # times the speed: at ten times real speed a runner that holds a check-in
                # back six seconds had every label's clock "set right" (60 s), and a clock
                # set through a lagging relay runs behind by the lag times the speed, its
                # timed flip moved off the instant. The tolerance, like the retries, in
                # wall-clock terms.
                label_clock_tolerance=CLOCK_TOLERANCE * speed,
            ),
            gateway=transport,
            sessions=self.sessions,
            clock=self.clock,
            rng=random.Random(7),
        )
        self._transport = transport
        self.controller = controller
        self._controller_stop = asyncio.Event()
        self._controller_task = asyncio.create_task(controller.run(self._controller_stop))
        self._tasks.append(self._controller_task)
        return controller

    def jump_to(self, instant: datetime) -> None:
        """Move the shared clock to `instant` at once, as an idle stretch passes: the
        labels' check-ins missed meanwhile are not made all at once afterwards (each
        with its old time, reaching the controller late: one from before a timed flip
        would arrive well after it, looking like a label that did not flip)."""
        self.clock.jump_to(instant)
        assert self.site is not None
        self.site.gateway.pass_idle_time(now=self.clock())

    def open_rows(self) -> int:
        return open_outbox_rows(self.sessions, OPEN)

    def due_planes(self, at: datetime) -> dict[str, Planes]:
        """label -> the reference render of its product's price at `at` (quote + render)."""
        references: dict[str, Planes] = {}
        due: dict[str, Planes] = {}
        with self.sessions() as session:
            for label_id, sku in self.bindings.items():
                if sku not in references:
                    references[sku] = expected_planes(session, label_id=label_id, sku=sku, at=at)
                due[label_id] = references[sku]
        return due

    async def assert_shows_due_at(self, instant: datetime) -> None:
        """Just after `instant`, every panel shows the render of what is due at it."""
        await self.clock.sleep_until(instant + timedelta(seconds=1))
        for label in self.labels.values():
            label.state(now=self.clock())  # the label's own timer fires when it is next asked
        assert self.showing_other_than(self.due_planes(instant)) == []

    def showing_other_than(self, due: dict[str, Planes]) -> list[str]:
        return sorted(
            label_id for label_id, planes in due.items() if self.labels[label_id].shown != planes
        )

    async def wait_showing_due(self, *, timeout_s: float, at: datetime | None = None) -> None:
        """Until every bound label shows what is due (at `at`, or at each moment now) and
        no frame is open."""
        # Rendered once when the instant is fixed: a store of hundreds of labels takes a while.
        fixed = None if at is None else self.due_planes(at)

        def wrong() -> list[str]:
            due = self.due_planes(self.clock()) if fixed is None else fixed
            return self.showing_other_than(due)

        await self.wait_until(
            lambda: not wrong() and self.open_rows() == 0,
            timeout_s=timeout_s,
            what=lambda: (
                f"{len(wrong())} labels do not show what is due ({wrong()[:8]}); "
                f"{self.open_rows()} frames open"
            ),
        )

    async def wait_until(
        self, condition: Callable[[], bool], *, timeout_s: float, what: Callable[[], str]
    ) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            task = self._controller_task
            if task is not None and task.done():
                raise AssertionError(f"the controller stopped: {task.exception()!r}")
            if condition():
                return
            await asyncio.sleep(0.2)
        raise AssertionError(what())

    async def close(self) -> None:
        if self._controller_stop is not None:
            self._controller_stop.set()
        if self.runner is not None:
            self.runner.stop()
        for task in self._tasks:
            # A controller that died has been reported by the test already.
            with contextlib.suppress(Exception):
                await task
        if self._transport is not None:
            await self._transport.stop()
        if self.site is not None:
            self.site.close()


def _cycle(values: list[str], count: int) -> list[str]:
    return [values[index % len(values)] for index in range(count)]


def simulated_start() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


# The pair most shared-clock tests price (the `dairy_store` fixture): milk and cheese, on a
# clock ten times faster than the wall's.
DAIRY_PRICES = {"MLK-1": "3.49", "CHS-1": "8.99"}
DAIRY_SKUS = tuple(DAIRY_PRICES)
DAIRY_SPEED = 10.0


def priced_store(
    engine: Engine,
    broker: MosquittoProcess,
    state_dir: Path,
    *,
    speed: float,
    prices: dict[str, str],
) -> SharedClockStore:
    """A store on a fresh shared clock whose `prices` (sku -> amount) are already published."""
    clock = SharedClock(simulated_start(), speed)
    shelf = SharedClockStore(engine=engine, broker=broker, state_dir=state_dir, clock=clock)
    publish(
        shelf.sessions,
        [{"action": "set_price", "sku": sku, "amount": amount} for sku, amount in prices.items()],
        now=clock(),
    )
    return shelf
