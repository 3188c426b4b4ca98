"""A migrated database with the reference stores and products, and an AuditWorld.

SQLite always; PostgreSQL too when ESL_TEST_POSTGRES_URL is set (as in CI), each test in
a schema of its own (the fixtures of tests/esl/conftest.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import Engine, text

from esl.db.engine import create_engine_for, session_factory, upgrade_database
from tests.audit.world import AuditWorld
from tests.esl.conftest import BACKENDS, POSTGRES_URL, seed_reference_data
from tests.esl.conftest import _postgres_engine as postgres_engine
from tests.esl.conftest import http_server as http_server  # the shared uvicorn thread


@pytest.fixture(params=BACKENDS)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "postgresql":
        schemas = postgres_engine()
        engine = next(schemas)
    else:
        engine = create_engine_for(f"sqlite:///{tmp_path / 'esl.sqlite'}")
    upgrade_database(engine)
    with session_factory(engine)() as session, session.begin():
        seed_reference_data(session)
    yield engine
    if request.param == "postgresql":
        schemas.close()
    else:
        engine.dispose()


def database_url(engine: Engine) -> str:
    """A URL naming the same database (and PostgreSQL schema) for a new process."""
    if engine.dialect.name != "postgresql":
        return engine.url.render_as_string(hide_password=False)
    assert POSTGRES_URL is not None
    with engine.connect() as connection:
        schema = connection.execute(text("SELECT current_schema()")).scalar_one()
    separator = "&" if "?" in POSTGRES_URL else "?"
    return f"{POSTGRES_URL}{separator}options={quote(f'-csearch_path={schema}')}"


@pytest.fixture
def world(engine: Engine) -> AuditWorld:
    return AuditWorld(engine)
