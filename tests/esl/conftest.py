"""Database and API fixtures: a migrated SQLite file always, PostgreSQL when configured.

Set ESL_TEST_POSTGRES_URL (CI does) and every test that takes `engine` also runs on
PostgreSQL, each in a schema of its own, so xdist workers sharing one server never see
each other's rows.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session
from sqlalchemy.pool import QueuePool
from typer.testing import CliRunner

from esl.api import create_app
from esl.api.server import ServerThread
from esl.cli import app as cli_app
from esl.db.engine import create_engine_for, session_factory, upgrade_database
from esl.db.models import LabelModelRow, StoreRow, ZoneRow
from esl.imports import import_products
from esl.services.keys import Role, create_key
from esl.settings import Settings

POSTGRES_URL = os.environ.get("ESL_TEST_POSTGRES_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

PRODUCTS_CSV = """\
sku,name,brand,gtin,category,vat_rate,net_content,net_unit,perishable,on_sale_since,web_url
MLK-1,Mleko 3.2% 1 l,Łaciate,5900820000011,dairy,5,1,l,yes,2025-01-01T00:00:00Z,
CHS-1,Ser gouda 150 g,Mlekovita,5900512000015,dairy,5,150,g,no,2025-01-01T00:00:00Z,
CFE-1,Kawa ziarnista 1 kg,Lavazza,8000070000018,coffee,23,1,kg,no,2025-01-01T00:00:00Z,https://shop.example/cfe-1
"""


@dataclass
class Clock:
    """The time the app sees; a test moves it."""

    now: datetime = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


class AppSwitch:
    """An ASGI app that forwards to whichever app the current test installed.

    One uvicorn per test worker serves every test; each test brings its own database.
    """

    def __init__(self) -> None:
        self.app: FastAPI | None = None

    async def __call__(self, scope: dict, receive: object, send: object) -> None:  # type: ignore[type-arg]
        assert self.app is not None, "no app installed"
        await self.app(scope, receive, send)  # type: ignore[arg-type]


@dataclass
class Api:
    client: httpx.Client
    keys: dict[str, str]
    clock: Clock
    engine: Engine

    def headers(self, role: str) -> dict[str, str]:
        return {"X-API-Key": self.keys[role]}


def _wait_until_idle(engine: Engine) -> None:
    """The server thread may still be closing a request's session after the response."""
    pool = engine.pool
    deadline = time.monotonic() + 5
    while isinstance(pool, QueuePool) and pool.checkedout() and time.monotonic() < deadline:
        time.sleep(0.01)


def _postgres_engine() -> Iterator[Engine]:
    assert POSTGRES_URL is not None
    schema = f"t_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = create_engine(
        POSTGRES_URL, connect_args={"options": f"-csearch_path={schema}"}, pool_pre_ping=True
    )
    try:
        yield engine
    finally:
        _wait_until_idle(engine)
        engine.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A freshly migrated database (`esl db upgrade`), empty but for the channels."""
    if request.param == "postgresql":
        generator = _postgres_engine()
        engine = next(generator)
        upgrade_database(engine)
        yield engine
        generator.close()
        return
    engine = create_engine_for(f"sqlite:///{tmp_path / 'esl.sqlite'}")
    upgrade_database(engine)
    yield engine
    _wait_until_idle(engine)
    engine.dispose()


def seed_reference_data(session: Session) -> None:
    """Two zones, three stores, three products, one label model."""
    session.add_all(
        [
            ZoneRow(code="north", name="North"),
            ZoneRow(code="south", name="South"),
            LabelModelRow(id="2.9-bwr", width=296, height=128, accent_colour="red"),
        ]
    )
    session.flush()
    session.add_all(
        [
            StoreRow(code="S01", name="Gdańsk Oliwa", zone="north"),
            StoreRow(code="S02", name="Gdynia", zone="north"),
            StoreRow(code="S03", name="Kraków", zone="south"),
        ]
    )
    session.flush()
    import_products(session, PRODUCTS_CSV, imported_by="seed", now=START)


@pytest.fixture
def seeded(engine: Engine) -> Engine:
    with session_factory(engine)() as session, session.begin():
        seed_reference_data(session)
    return engine


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(scope="session")
def http_server() -> Iterator[tuple[AppSwitch, str]]:
    switch = AppSwitch()
    with ServerThread(switch) as server:
        yield switch, server.url


@pytest.fixture
def api(
    seeded: Engine, clock: Clock, tmp_path: Path, http_server: tuple[AppSwitch, str]
) -> Iterator[Api]:
    """The real app over the seeded database, with one key per role (store key for S01)."""
    keys: dict[str, str] = {}
    with session_factory(seeded)() as session, session.begin():
        for role in Role:
            store = "S01" if role is Role.STORE else None
            _, token = create_key(session, name=f"{role}-key", role=role, store=store, now=START)
            keys[role.value] = token
    switch, url = http_server
    switch.app = create_app(Settings(data_dir=tmp_path, currency="PLN"), engine=seeded, clock=clock)
    with httpx.Client(base_url=url, timeout=30) as client:
        yield Api(client=client, keys=keys, clock=clock, engine=seeded)
    switch.app = None


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """The `esl` command line on a freshly upgraded SQLite file in `tmp_path / "data"`."""
    monkeypatch.setenv("ESL_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("ESL_DATABASE_URL", raising=False)
    runner = CliRunner()
    assert runner.invoke(cli_app, ["db", "upgrade"]).exit_code == 0
    return runner
