"""A migrated database with the reference stores and products, and an AuditWorld.

SQLite always; PostgreSQL too when ESL_TEST_POSTGRES_URL is set (as in CI), each test in
a schema of its own (tests/support/database.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from esl.db.engine import create_engine_for, session_factory, upgrade_database
from tests.audit.world import AuditWorld
from tests.support.database import BACKENDS, postgres_engine, seed_reference_data


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


@pytest.fixture
def world(engine: Engine) -> AuditWorld:
    return AuditWorld(engine)
