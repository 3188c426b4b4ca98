"""The PostgreSQL the worker chains run on, shared by tests/workers and the same chain on
the RabbitMQ cluster (tests/brokers): the server, a fresh schema per test, migrated and
seeded with six stores.

With ESL_TEST_POSTGRES_URL set (CI, `scripts/with-postgres`) the tests use that server;
without it they start a throwaway cluster of their own (tests/fixtures/postgres.py), so
they run everywhere PostgreSQL is installed, never skipped.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from urllib.parse import quote

import pytest
from sqlalchemy import Engine, create_engine, text

from esl.db.engine import session_factory, upgrade_database
from esl.db.models import StoreRow
from esl.pipeline.controller_lease import ControllerIdentity
from esl.pipeline.store_leases import StoreLeaseTerms, balance_stores
from tests.fixtures.postgres import PostgresCluster
from tests.support.database import POSTGRES_URL, seed_reference_data

__all__ = [
    "STORES",
    "fresh_schema",
    "postgres_server",
    "six_store_engine",
    "two_workers_sharing_the_stores",
]

STORES = ("S01", "S02", "S03", "S04", "S05", "S06")


@contextmanager
def postgres_server() -> Iterator[str]:
    """ESL_TEST_POSTGRES_URL, or the URL of a throwaway server removed on exit."""
    if POSTGRES_URL is not None:
        yield POSTGRES_URL
        return
    cluster = PostgresCluster.create()
    try:
        yield cluster.url
    finally:
        cluster.remove()


@contextmanager
def fresh_schema(server_url: str) -> Iterator[str]:
    """A URL of a fresh schema, usable by other processes too (the search path rides in
    the URL); the schema is dropped on exit."""
    schema = f"w_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in server_url else "?"
    try:
        yield f"{server_url}{separator}options={quote(f'-csearch_path={schema}')}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@contextmanager
def six_store_engine(database_url: str) -> Iterator[Engine]:
    """The schema migrated, with the reference data and the six STORES."""
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


@pytest.fixture(scope="module", name="postgres_server")
def postgres_server_fixture() -> Iterator[str]:
    with postgres_server() as url:
        yield url


@pytest.fixture(name="database_url")
def database_url_fixture(postgres_server: str) -> Iterator[str]:
    with fresh_schema(postgres_server) as url:
        yield url


@pytest.fixture(name="engine")
def engine_fixture(database_url: str) -> Iterator[Engine]:
    with six_store_engine(database_url) as engine:
        yield engine


def two_workers_sharing_the_stores(
    engine: Engine, *, now: datetime
) -> tuple[ControllerIdentity, ControllerIdentity]:
    """Two workers balanced over the six stores, three each, as `esl run` workers would
    be: the first last renewed its leases 4 s before `now`, the second 3 s before."""
    terms = StoreLeaseTerms(stale_after=timedelta(seconds=10), renew_every=timedelta(seconds=2))
    first = ControllerIdentity.of_this_process(now=now)
    second = ControllerIdentity.of_this_process(now=now)
    sessions = session_factory(engine)
    for worker, after_s in ((first, -6), (second, -5), (first, -4), (second, -3)):
        with sessions.begin() as session:
            balance_stores(session, worker, now=now + timedelta(seconds=after_s), terms=terms)
    return first, second
