"""A migrated database with the reference stores and products, and an AuditWorld.

SQLite always; PostgreSQL too when ESL_TEST_POSTGRES_URL is set (as in CI), each test in
a database of its own (tests/support/database.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.audit.world import AuditWorld
from tests.support.database import BACKENDS, backend_engine


@pytest.fixture(params=BACKENDS)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    with backend_engine(request.param, tmp_path) as engine:
        yield engine


@pytest.fixture
def world(engine: Engine) -> AuditWorld:
    return AuditWorld(engine)
