"""A running chain for the browser tests, as `esl demo --keep-serving` runs it: the sample
catalogue on SQLite, the real app (API and console) served by uvicorn, a real Mosquitto,
firmware_sim store gateways with their labels and the update controller, all on the wall
clock (or, without a broker, the controller's own BLE driver reaching simulated labels
through the simulated bleak backend, as `esl demo --transport ble`). The asyncio side
runs in its own thread; the tests drive Chromium from theirs.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from playwright.sync_api import Page
from sqlalchemy import Engine

from esl.api.app import create_app
from esl.api.server import ServerThread
from esl.db.engine import create_engine_for, session_factory, upgrade_database
from esl.demo.chain import SimulatedChain
from esl.sample import load_sample, sample_anchor
from esl.sample.seeding import seed_sample_catalogue
from esl.services.health import label_health
from esl.services.keys import Role, create_key
from esl.settings import Settings
from firmware_sim.label import SimulatedLabel
from gateways.base import TransportKind
from gateways.mqtt.endpoint import parse_broker_url
from tests.support.chain import quick_demo_timings
from tests.support.clock import wall_clock

__all__ = ["ConsoleWorld"]

# A battery and signal sample per label each second: a falling battery shows at once.
FAST = quick_demo_timings(
    ack_timeout=timedelta(seconds=3), max_attempts=4, vitals_every=timedelta(seconds=1)
)
STORES = {"KRK-01": 4, "WAW-01": 2}
KEYS = {
    "admin": (Role.ADMIN, None),
    "pricing": (Role.PRICING, None),
    "auditor": (Role.AUDITOR, None),
    "store": (Role.STORE, "KRK-01"),
}


@dataclass
class ConsoleWorld:
    directory: Path
    broker_url: str | None  # None: the stores' labels are reached over BLE
    stores: dict[str, int] = field(default_factory=lambda: dict(STORES))
    keys: dict[str, str] = field(default_factory=dict)
    url: str = ""
    engine: Engine | None = None
    chain: SimulatedChain | None = None
    _ready: threading.Event = field(default_factory=threading.Event)
    _failure: BaseException | None = None
    _loop: asyncio.AbstractEventLoop | None = None
    _stop: asyncio.Event | None = None
    _thread: threading.Thread | None = None

    def start(self, timeout_s: float = 180) -> None:
        self._thread = threading.Thread(target=self._run, name="console-world", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout_s):
            raise AssertionError("the console world did not settle in time")
        if self._failure is not None:
            raise AssertionError(f"the console world failed: {self._failure!r}")

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(60)

    def label(self, store: str, label_id: str) -> SimulatedLabel:
        assert self.chain is not None
        return self.chain.labels[store][label_id]

    def sessions(self) -> Any:
        assert self.engine is not None
        return session_factory(self.engine)

    def simulated_now(self) -> datetime:
        assert self.chain is not None
        return self.chain.simulated_clock()

    def wait_until(self, condition: Callable[[], bool], *, timeout_s: float, what: str) -> None:
        deadline = time.monotonic() + timeout_s
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"not in {timeout_s} s: {what}")
            time.sleep(0.2)

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as error:  # reported to the test thread
            self._failure = error
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        now = wall_clock()
        sample = load_sample(anchor=sample_anchor(now), history_until=now)
        database_url = f"sqlite:///{(self.directory / 'esl.sqlite').as_posix()}"
        engine = self.engine = create_engine_for(database_url)
        upgrade_database(engine)
        with session_factory(engine).begin() as session:
            seed_sample_catalogue(session, sample, now=now)
            for name, (role, store) in KEYS.items():
                _, self.keys[name] = create_key(
                    session, name=f"{name}-key", role=role, store=store, now=now
                )
        settings = Settings(data_dir=self.directory, database_url=database_url)
        server = ServerThread(create_app(settings, engine=engine)).start()
        self.url = server.url
        chain = self.chain = SimulatedChain(
            engine=engine,
            broker=parse_broker_url(self.broker_url) if self.broker_url else None,
            transport=TransportKind.MQTT if self.broker_url else TransportKind.BLE,
            state_dir=self.directory / "sim",
            clock=wall_clock,
            settings=Settings.defaults(),
            timings=FAST,
        )
        try:
            skus = sorted(sample.catalogue.products)
            for offset, (store, count) in enumerate(self.stores.items()):
                chain.install_store(store, labels=count, skus=skus[offset * 5 :])
            await chain.start_gateways()
            await chain.start_controller(seed=1)
            await self._settled(engine, deadline=time.monotonic() + 150)
            self._ready.set()
            await self._stop.wait()
        finally:
            await chain.close()
            server.stop()
            engine.dispose()

    async def _settled(self, engine: Engine, *, deadline: float) -> None:
        total = sum(self.stores.values())
        while time.monotonic() < deadline:
            with session_factory(engine)() as session:
                health = label_health(session, now=wall_clock())
            if sum(h.up_to_date for h in health) == total:
                return
            await asyncio.sleep(0.3)
        raise AssertionError("the labels did not all confirm their first image")


def sign_in(page: Page, world: ConsoleWorld, role: str) -> Page:
    page.goto(f"{world.url}/ui/")
    page.get_by_label("API key").fill(world.keys[role])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{world.url}/ui/")
    return page


GOLDENS = Path(__file__).parent / "goldens"
