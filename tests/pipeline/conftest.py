"""A small chain on real parts: SQLite, the real paho driver, a real Mosquitto, and
firmware_sim store gateways on the same broker, their labels registered from the
gateways' own provisioning files.

The simulated gateways run on an accelerated clock (labels check in every few simulated
seconds, a 15 s panel refresh takes under a second of test time); the controller runs on
the wall clock. Scheduled flips are tested without MQTT (test_scheduling.py), where both
sides share one clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from esl.db.engine import create_engine_for, session_factory, upgrade_database
from esl.db.mapping import product_from_row, store_from_row
from esl.db.models import LabelRow, OutboxRow, ProductRow, StoreRow
from esl.pipeline import ControllerSettings, RetryPolicy, UpdateController
from esl.pipeline.database_outage import DatabaseRetry
from esl.pipeline.provisioning import register_provisioned_labels
from esl.services.keys import Principal, Role
from esl.services.labels import bind_label
from esl.services.publication import (
    create_publication,
    publish_publication,
    validate_publication,
)
from esl.services.publication_commands import SetPrice
from esl.services.quotes import quote
from firmware_sim.faults import FaultPlan
from firmware_sim.fleet import read_provisioning
from firmware_sim.mqtt_gateway import BrokerSettings, MqttStoreGateway
from firmware_sim.simulation import SimulatedSite, SiteConfig, open_simulated_gateway
from gateways.mqtt.driver import MqttGateway
from gateways.mqtt.endpoint import parse_broker_url
from rendering.cache import RenderCache
from rendering.content import LabelContent
from rendering.display_models import get_display_model
from rendering.encoding import Planes
from rendering.templates import Template
from tests.esl.conftest import seed_reference_data
from tests.fixtures.mosquitto import MosquittoProcess

SKUS = ("MLK-1", "CHS-1", "CFE-1")
ADMIN = Principal(name="pipeline-test", role=Role.ADMIN, store=None)
SIM_SPEED = 20.0  # simulated seconds per wall-clock second


def wall_clock() -> datetime:
    return datetime.now(UTC)


def fast_clock(start: datetime, speed: float = SIM_SPEED) -> Callable[[], datetime]:
    origin = time.monotonic()

    def now() -> datetime:
        return start + timedelta(seconds=(time.monotonic() - origin) * speed)

    return now


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = create_engine_for(f"sqlite:///{tmp_path / 'esl.sqlite'}")
    upgrade_database(engine)
    with session_factory(engine)() as session, session.begin():
        seed_reference_data(session)
    yield engine
    engine.dispose()


def publish_prices(
    sessions: sessionmaker[Session],
    prices: dict[str, str],
    *,
    now: datetime,
    effective_at: datetime | None = None,
    store: str | None = None,
) -> int:
    """Publish national (or one store's) shelf prices through the publication service."""
    items = [
        SetPrice(sku=sku, amount=Decimal(amount), store=store) for sku, amount in prices.items()
    ]
    with sessions.begin() as session:
        row = create_publication(
            session,
            title="test prices",
            effective_at=effective_at,
            items=items,
            created_by="test",
            now=now,
        )
        publication_id = row.id
    with sessions.begin() as session:
        validate_publication(session, publication_id, now=now, currency="PLN")
    with sessions.begin() as session:
        publish_publication(session, publication_id, published_by="test", now=now, currency="PLN")
    return publication_id


def expected_planes(
    session: Session, *, label_id: str, sku: str, at: datetime, template: Template | None = None
) -> Planes:
    """The reference render of what the label must show: the quote service, then render."""
    label = session.get(LabelRow, label_id)
    assert label is not None
    resolved = quote(
        session,
        sku=sku,
        store=label.store,
        channel="store",
        at=at,
        locale="pl_PL",
        currency="PLN",
    )
    product_row = session.get(ProductRow, sku)
    store_row = session.get(StoreRow, label.store)
    assert product_row is not None
    assert store_row is not None
    content = LabelContent.from_resolved(
        product=product_from_row(product_row),
        price=resolved,
        store=store_from_row(store_row),
        locale="pl_PL",
    )
    model = get_display_model(label.model)
    return RenderCache().render(content, model=model, template=template).planes


@dataclass
class Chain:
    """Stores with simulated gateways and a controller, all on one broker."""

    engine: Engine
    broker: MosquittoProcess
    state_dir: Path
    sites: dict[str, SimulatedSite] = field(default_factory=dict)
    runners: dict[str, MqttStoreGateway] = field(default_factory=dict)
    tasks: dict[str, asyncio.Task[None]] = field(default_factory=dict)
    bindings: dict[str, str] = field(default_factory=dict)  # label -> sku
    controller: UpdateController | None = None
    controller_task: asyncio.Task[None] | None = None
    controller_stop: asyncio.Event | None = None
    transport: MqttGateway | None = None

    @property
    def sessions(self) -> sessionmaker[Session]:
        return session_factory(self.engine)

    def add_store(
        self,
        store: str,
        *,
        labels: int,
        faults: FaultPlan | None = None,
        gateway: str = "",
        check_in_interval_s: float = 4.0,
    ) -> SimulatedSite:
        gateway = gateway or f"gw{store}"
        now = wall_clock()
        config = SiteConfig(
            store=store,
            gateway=gateway,
            state_dir=self.state_dir,
            label_count=labels,
            model_id="2.9-bwr",
            faults=faults or FaultPlan(),
            check_in_interval_s=check_in_interval_s,
            max_attempts=5,
            report_check_ins=True,
        )
        site = open_simulated_gateway(config, now=now)
        provisions = read_provisioning(config.manifest_path)
        with self.sessions.begin() as session:
            register_provisioned_labels(session, provisions, store=store, gateway=gateway, now=now)
            for index, provision in enumerate(provisions):
                sku = SKUS[index % len(SKUS)]
                bind_label(
                    session,
                    principal=ADMIN,
                    label_id=provision.label_id,
                    sku=sku,
                    template="standard",
                    now=now,
                )
                self.bindings[provision.label_id] = sku
        self.sites[store] = site
        return site

    async def start_gateway(self, store: str) -> None:
        site = self.sites[store]
        runner = MqttStoreGateway(
            site,
            BrokerSettings(host=self.broker.host, port=self.broker.port),
            clock=fast_clock(wall_clock()),
            tick_s=0.01,
            restart_downtime_s=0.2,
        )
        self.runners[store] = runner
        self.tasks[store] = asyncio.create_task(runner.run())
        await runner.wait_connected()

    async def stop_gateway(self, store: str) -> None:
        self.runners[store].stop()
        await self.tasks.pop(store)

    async def start_controller(
        self, *, seed: int = 1, window: int = 16, database_retry: DatabaseRetry | None = None
    ) -> UpdateController:
        transport = MqttGateway(
            parse_broker_url(self.broker.url), reconnect_delay_s=(1, 2), max_in_flight=50
        )
        await transport.start()
        controller = UpdateController(
            gateway=transport,
            sessions=self.sessions,
            clock=wall_clock,
            rng=random.Random(seed),
            settings=ControllerSettings(
                window=window,
                poll_every=timedelta(milliseconds=100),
                policy=RetryPolicy(
                    ack_timeout=timedelta(seconds=2),
                    base_delay=timedelta(milliseconds=200),
                    max_delay=timedelta(seconds=2),
                    max_attempts=6,
                ),
                database_retry=database_retry or DatabaseRetry(),
            ),
        )
        self.transport = transport
        self.controller = controller
        self.controller_stop = asyncio.Event()
        self.controller_task = asyncio.create_task(controller.run(self.controller_stop))
        return controller

    async def stop_controller(self, *, crash: bool = False) -> None:
        assert self.controller_task is not None
        assert self.controller_stop is not None
        if crash:
            self.controller_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.controller_task
        else:
            self.controller_stop.set()
            await self.controller_task
        assert self.transport is not None
        await self.transport.stop()
        self.controller_task = None

    def open_rows(self) -> int:
        with self.sessions() as session:
            return len(
                session.scalars(
                    select(OutboxRow.id).where(OutboxRow.status.in_(("pending", "sent", "parked")))
                ).all()
            )

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
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.converged(at) and self.open_rows() == 0:
                return
            await asyncio.sleep(0.2)
        raise AssertionError(
            f"not converged: {len(self.mismatches(at))} labels wrong, {self.open_rows()} open rows"
        )

    async def close(self) -> None:
        if self.controller_task is not None:
            await self.stop_controller()
        for store in list(self.tasks):
            await self.stop_gateway(store)
        for site in self.sites.values():
            site.close()


@pytest.fixture
async def chain(
    engine: Engine, mosquitto: MosquittoProcess, tmp_path: Path
) -> AsyncIterator[Chain]:
    chain = Chain(engine=engine, broker=mosquitto, state_dir=tmp_path / "sim")
    yield chain
    await chain.close()
