"""Workers share stores only on PostgreSQL: every test here runs on it.

With ESL_TEST_POSTGRES_URL set (CI, `scripts/with-postgres`) the tests use that server;
without it they start a throwaway cluster of their own (tests/fixtures/postgres.py), so
they run everywhere PostgreSQL is installed, never skipped. Each test gets a schema of
its own.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import Engine, create_engine, text

from esl.db.engine import session_factory, upgrade_database
from esl.db.models import StoreRow
from tests.fixtures.mosquitto import MosquittoProcess
from tests.fixtures.postgres import PostgresCluster
from tests.support.chain import Chain, wall_clock_chain
from tests.support.database import POSTGRES_URL, seed_reference_data

STORES = ("S01", "S02", "S03", "S04", "S05", "S06")


@pytest.fixture(scope="module")
def postgres_server() -> Iterator[str]:
    if POSTGRES_URL is not None:
        yield POSTGRES_URL
        return
    cluster = PostgresCluster.create()
    try:
        yield cluster.url
    finally:
        cluster.remove()


@pytest.fixture
def database_url(postgres_server: str) -> Iterator[str]:
    """A URL of a fresh schema, usable by other processes too (the search path rides in
    the URL)."""
    schema = f"w_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(postgres_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in postgres_server else "?"
    try:
        yield f"{postgres_server}{separator}options={quote(f'-csearch_path={schema}')}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """The schema migrated, with the reference data and six stores."""
    engine = create_engine(database_url, pool_pre_ping=True)
    upgrade_database(engine)
    with session_factory(engine)() as session, session.begin():
        seed_reference_data(session)
        session.add_all(
            StoreRow(code=code, name=f"Store {code}", zone="north")
            for code in STORES
            if code not in ("S01", "S02", "S03")
        )
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
async def chain(
    engine: Engine, mosquitto: MosquittoProcess, tmp_path: Path
) -> AsyncIterator[Chain]:
    async with wall_clock_chain(engine, mosquitto, tmp_path / "sim") as chain:
        yield chain
