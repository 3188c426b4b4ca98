"""Fixtures shared by every test folder."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from fastapi.dependencies import models as fastapi_dependencies
from sqlalchemy import Engine

from esl.api.server import ServerThread
from tests.fixtures.mosquitto import MosquittoProcess, start_mosquitto
from tests.support.api import AppSwitch
from tests.support.chain import Chain, wall_clock_chain
from tests.support.database import seeded_sqlite_engine


@pytest.fixture(autouse=True)
def _forget_fastapi_endpoints() -> Iterator[None]:
    """FastAPI keeps each endpoint and dependency it has classified in module-level LRU
    caches of 4,096 entries; a test process builds hundreds of apps, and through those
    functions' closures every app, its engine, its metrics registry and its pydantic
    schemas stayed alive: the test workers grew past 1.7 GB, and every garbage collection
    (a controller starts with one) walked them all. A server builds one app, so only tests
    need this."""
    yield
    for cached in (
        getattr(fastapi_dependencies, name, None)
        for name in (
            "_is_gen_callable_cached",
            "_is_async_gen_callable_cached",
            "_is_coroutine_callable_cached",
        )
    ):
        if cached is not None:
            cached.cache_clear()


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
