"""A migrated SQLite database with the reference stores and products, and an AuditWorld."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from esl.db.engine import create_engine_for, session_factory, upgrade_database
from tests.audit.world import AuditWorld
from tests.esl.conftest import seed_reference_data


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = create_engine_for(f"sqlite:///{tmp_path / 'esl.sqlite'}")
    upgrade_database(engine)
    with session_factory(engine)() as session, session.begin():
        seed_reference_data(session)
    yield engine
    engine.dispose()


@pytest.fixture
def world(engine: Engine) -> AuditWorld:
    return AuditWorld(engine)
