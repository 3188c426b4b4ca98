"""Fixtures shared by every test folder."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from esl.api.server import ServerThread
from tests.fixtures.mosquitto import MosquittoProcess, start_mosquitto
from tests.support.api import AppSwitch, forget_fastapi_endpoints
from tests.support.chain import Chain, wall_clock_chain
from tests.support.database import seeded_sqlite_engine


@pytest.fixture(autouse=True)
def _forget_fastapi_endpoints() -> Iterator[None]:
    """After each test: FastAPI's caches would keep every app it built alive."""
    yield
    forget_fastapi_endpoints()


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[MosquittoProcess]:
    """A real Mosquitto on a free loopback port, anonymous clients allowed."""
    broker = start_mosquitto(tmp_path / "mosquitto")
    yield broker
    broker.stop()


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    """A migrated SQLite database with the reference data seeded (folders that test on
    PostgreSQL too, or need another database, define their own)."""
    with seeded_sqlite_engine(tmp_path) as engine:
        yield engine


@pytest.fixture
async def chain(
    engine: Engine, mosquitto: MosquittoProcess, tmp_path: Path
) -> AsyncIterator[Chain]:
    """The MQTT chain (tests/support/chain.py) on the wall clock, over the folder's `engine`."""
    async with wall_clock_chain(engine, mosquitto, tmp_path / "sim") as chain:
        yield chain


@pytest.fixture(scope="session")
def http_server() -> Iterator[tuple[AppSwitch, str]]:
    """One uvicorn per test worker; each test installs its app in the switch."""
    switch = AppSwitch()
    with ServerThread(switch) as server:
        yield switch, server.url
