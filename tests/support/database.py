"""Test databases: the reference data, and a database of its own per test.

Set ESL_TEST_POSTGRES_URL (CI does) and every test that takes `engine` also runs on
PostgreSQL, each in a database of its own (its rows and its advisory locks), so xdist
workers sharing one server never see each other's.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, create_engine, make_url, text, update
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool, QueuePool

from esl.db.engine import create_engine_for, session_factory, upgrade_database
from esl.db.models import LabelModelRow, ProductRow, ProductVersionRow, StoreRow, ZoneRow
from esl.imports import import_products
from gateways.protocol import LabelProvision

__all__ = [
    "BACKENDS",
    "ON_POSTGRESQL",
    "POSTGRES_URL",
    "PRODUCTS_CSV",
    "START",
    "database_url",
    "engine_on_every_backend",
    "insert_product_as_before",
    "postgres_engine",
    "seed_reference_data",
    "seeded_engine",
    "seeded_sqlite_engine",
    "wait_until_idle",
]

POSTGRES_URL = os.environ.get("ESL_TEST_POSTGRES_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
# For a test of what only PostgreSQL does (its advisory locks): `engine` on it alone,
# whatever BACKENDS says (`make test` always sets ESL_TEST_POSTGRES_URL).
ON_POSTGRESQL = pytest.mark.parametrize("engine", ["postgresql"], indirect=True)

PRODUCTS_CSV = """\
sku,name,brand,gtin,category,vat_rate,net_content,net_unit,perishable,on_sale_since,web_url
MLK-1,Mleko 3.2% 1 l,Łaciate,5900820000011,dairy,5,1,l,yes,2025-01-01T00:00:00Z,
CHS-1,Ser gouda 150 g,Mlekovita,5900512000015,dairy,5,150,g,no,2025-01-01T00:00:00Z,
CFE-1,Kawa ziarnista 1 kg,Lavazza,8000070000018,coffee,23,1,kg,no,2025-01-01T00:00:00Z,https://shop.example/cfe-1
"""


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
    import_products(session, PRODUCTS_CSV, currency="PLN", imported_by="seed", now=START)
    # Products on sale since 2025 and loaded at START: the tests' chain has all they sold
    # at recorded (as a database from before migration 0048), so their reductions in the
    # first 30 days are announced. A key loaded after its sale began without its history
    # announces none (`tests/esl/test_prior_price_of_a_product_loaded_after_its_sale_began.py`).
    for table in (ProductRow, ProductVersionRow):
        session.execute(update(table).values(recorded_since=None))


def insert_label_as_before(session: Session, provision: LabelProvision) -> None:
    """Register a label through the columns every schema revision has (a migration test
    downgraded the database; the model has newer ones)."""
    session.execute(
        text(
            "INSERT INTO labels (id, store, model, gateway, secret_key, registered_at) "
            "VALUES (:id, 'S01', :model, NULL, :key, :at)"
        ),
        {
            "id": provision.label_id,
            "model": provision.model_id,
            "key": provision.key,
            "at": START,
        },
    )


def insert_product_as_before(session: Session, sku: str) -> None:
    """Store a dairy product of `sku` as a product file did before the SKU spelling rule
    (`esl/skus.py`): `MLEKO-Ł`, `MLK 2` were taken then, and nothing renamed them."""
    session.add(
        ProductRow(
            sku=sku, name="Mleko łaciate 1 l", brand="Łaciate", gtin="", category="dairy",
            vat_rate=Decimal(5), net_content=Decimal(1), net_unit="l", perishable=True,
            on_sale_since=datetime(2025, 1, 1, tzinfo=UTC), web_url=None,
            unit_price_per_100=False,
        )
    )  # fmt: skip


def wait_until_idle(engine: Engine) -> None:
    """The server thread may still be closing a request's session after the response."""
    pool = engine.pool
    deadline = time.monotonic() + 5
    while isinstance(pool, QueuePool) and pool.checkedout() and time.monotonic() < deadline:
        time.sleep(0.01)


@contextlib.contextmanager
def postgres_engine(*, seeded: bool) -> Iterator[Engine]:
    """An engine on a database of its own on ESL_TEST_POSTGRES_URL's server, a copy of one
    migrated (and seeded) once per test process; dropped when closed."""
    assert POSTGRES_URL is not None, "set ESL_TEST_POSTGRES_URL: `make test` runs the tests so"
    name = f"t_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{uuid.uuid4().hex[:10]}"
    template = _postgres_template(seeded=seeded)
    with _postgres_admin() as admin:
        admin.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    engine = create_engine(make_url(POSTGRES_URL).set(database=name), pool_pre_ping=True)
    try:
        yield engine
    finally:
        wait_until_idle(engine)
        engine.dispose()
        _drop_postgres_database(name)


@contextlib.contextmanager
def backend_engine(backend: str, directory: Path, *, seeded: bool = True) -> Iterator[Engine]:
    """A migrated database on `backend` (one of BACKENDS: "sqlite", a file in `directory`;
    "postgresql", a database of its own dropped after), with the reference data unless not
    `seeded`; disposed after."""
    if backend == "postgresql":
        with postgres_engine(seeded=seeded) as engine:
            yield engine
        return
    shutil.copyfile(_sqlite_template(seeded=seeded), directory / "esl.sqlite")
    with _sqlite_file(directory / "esl.sqlite") as engine:
        yield engine


@pytest.fixture(name="engine", params=BACKENDS)
def engine_on_every_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """`engine` on each of BACKENDS, seeded, for a module whose folder's `engine` is
    SQLite alone: the module imports it (`# noqa: F401 - fixtures`)."""
    with backend_engine(request.param, tmp_path) as engine:
        yield engine


@functools.cache
def _postgres_template(*, seeded: bool) -> str:
    """The name of a database migrated to head (and seeded), made once per test process
    for `CREATE DATABASE ... TEMPLATE` (0.15 s a test instead of 0.6 s of migrations).
    No connection to it stays open: PostgreSQL copies only a database nobody uses."""
    assert POSTGRES_URL is not None
    name = f"template_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{uuid.uuid4().hex[:10]}"
    with _postgres_admin() as admin:
        admin.execute(text(f'CREATE DATABASE "{name}"'))
    atexit.register(_drop_postgres_database, name)
    engine = create_engine(make_url(POSTGRES_URL).set(database=name))
    try:
        upgrade_database(engine)
        if seeded:
            with session_factory(engine).begin() as session:
                seed_reference_data(session)
    finally:
        engine.dispose()
    return name


@contextlib.contextmanager
def _postgres_admin() -> Iterator[Connection]:
    assert POSTGRES_URL is not None
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with admin.connect() as connection:
            yield connection
    finally:
        admin.dispose()


def _drop_postgres_database(name: str) -> None:
    """FORCE: a process a test started may still hold a connection."""
    with _postgres_admin() as admin:
        admin.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@functools.cache
def _sqlite_template(*, seeded: bool) -> Path:
    """A SQLite file migrated to head (and seeded), made once per test process: running
    the 40-odd migrations for every test cost about half a second each, a quarter of the
    suite. Each test gets a copy, so no test sees another's rows."""
    folder = Path(tempfile.mkdtemp(prefix="esl-test-schema-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    path = folder / "esl.sqlite"
    engine = create_engine_for(f"sqlite:///{path}")
    try:
        upgrade_database(engine)
        if seeded:
            with session_factory(engine).begin() as session:
                seed_reference_data(session)
        with engine.connect() as connection:
            # Everything into the main file, so the copy is the whole database.
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        engine.dispose()
    return path


@contextlib.contextmanager
def _sqlite_file(path: Path, *, busy_timeout_ms: int = 10_000) -> Iterator[Engine]:
    engine = create_engine_for(f"sqlite:///{path}", busy_timeout_ms=busy_timeout_ms)
    try:
        yield engine
    finally:
        wait_until_idle(engine)
        engine.dispose()


def database_url(engine: Engine) -> str:
    """A URL naming the same database for a new process."""
    return engine.url.render_as_string(hide_password=False)


@contextlib.contextmanager
def seeded_sqlite_engine(directory: Path, *, busy_timeout_ms: int = 10_000) -> Iterator[Engine]:
    """A migrated SQLite database file in `directory` with the reference data seeded."""
    path = directory / "esl.sqlite"
    shutil.copyfile(_sqlite_template(seeded=True), path)
    with _sqlite_file(path, busy_timeout_ms=busy_timeout_ms) as engine:
        yield engine


@contextlib.contextmanager
def seeded_engine(url: str, *, busy_timeout_ms: int = 10_000) -> Iterator[Engine]:
    """The database at `url` migrated, with the reference data seeded; disposed after."""
    engine = create_engine_for(url, busy_timeout_ms=busy_timeout_ms)
    upgrade_database(engine)
    with session_factory(engine)() as session, session.begin():
        seed_reference_data(session)
    try:
        yield engine
    finally:
        engine.dispose()
