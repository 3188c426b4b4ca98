"""Workers share stores only on PostgreSQL: every test here runs on it
(tests/workers/database.py), each test in a schema of its own."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.fixtures.mosquitto import MosquittoProcess
from tests.support.chain import Chain, wall_clock_chain

# The PostgreSQL fixtures every worker test uses (a server per module, a schema per test).
from tests.workers.database import (  # noqa: F401 - fixtures
    database_url_fixture,
    engine_fixture,
    postgres_server_fixture,
)


@pytest.fixture
async def chain(
    engine: Engine, mosquitto: MosquittoProcess, tmp_path: Path
) -> AsyncIterator[Chain]:
    async with wall_clock_chain(engine, mosquitto, tmp_path / "sim") as chain:
        yield chain
