"""Workers share stores only on PostgreSQL: every test here runs on it
(tests/workers/database.py), each test in a schema of its own."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.fixtures.mosquitto import MosquittoProcess
from tests.support.chain import Chain, wall_clock_chain
from tests.workers.database import fresh_schema, postgres_server, six_store_engine


@pytest.fixture(scope="module", name="postgres_server")
def postgres_server_fixture() -> Iterator[str]:
    with postgres_server() as url:
        yield url


@pytest.fixture
def database_url(postgres_server: str) -> Iterator[str]:
    with fresh_schema(postgres_server) as url:
        yield url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    with six_store_engine(database_url) as engine:
        yield engine


@pytest.fixture
async def chain(
    engine: Engine, mosquitto: MosquittoProcess, tmp_path: Path
) -> AsyncIterator[Chain]:
    async with wall_clock_chain(engine, mosquitto, tmp_path / "sim") as chain:
        yield chain
