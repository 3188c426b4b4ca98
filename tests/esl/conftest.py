"""Database and API fixtures: a migrated SQLite file always, PostgreSQL when configured.

Set ESL_TEST_POSTGRES_URL (CI does) and every test that takes `engine` also runs on
PostgreSQL, each in a database of its own (tests/support/database.py).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from esl.api.app import create_app
from esl.cli import app as cli_app
from esl.db.engine import session_factory
from esl.services.keys import Role, create_key
from esl.settings import Settings
from tests.support.api import Api, AppSwitch
from tests.support.clock import Clock
from tests.support.database import (
    BACKENDS,
    START,
    backend_engine,
    seed_reference_data,
)


@pytest.fixture(params=BACKENDS)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A freshly migrated database (`esl db upgrade`), empty but for the channels."""
    with backend_engine(request.param, tmp_path, seeded=False) as engine:
        yield engine


@pytest.fixture
def seeded(engine: Engine) -> Engine:
    with session_factory(engine)() as session, session.begin():
        seed_reference_data(session)
    return engine


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def api(
    seeded: Engine, clock: Clock, tmp_path: Path, http_server: tuple[AppSwitch, str]
) -> Iterator[Api]:
    """The real app over the seeded database, with one key per role (store key for S01)."""
    keys: dict[str, str] = {}
    with session_factory(seeded)() as session, session.begin():
        for role in Role:
            store = "S01" if role is Role.STORE else None
            _, token = create_key(session, name=f"{role}-key", role=role, store=store, now=START)
            keys[role.value] = token
    switch, url = http_server
    switch.app = create_app(Settings(data_dir=tmp_path, currency="PLN"), engine=seeded, clock=clock)
    with httpx.Client(base_url=url, timeout=30) as client:
        yield Api(client=client, keys=keys, clock=clock, engine=seeded)
    switch.app = None


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """The `esl` command line on a freshly upgraded SQLite file in `tmp_path / "data"`."""
    monkeypatch.setenv("ESL_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("ESL_DATABASE_URL", raising=False)
    runner = CliRunner()
    assert runner.invoke(cli_app, ["db", "upgrade"]).exit_code == 0
    return runner


@pytest.fixture
def bare(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """The `esl` command line in an empty directory, with no `ESL_` variable set."""
    monkeypatch.chdir(tmp_path)
    for name in [n for n in os.environ if n.startswith("ESL_")]:
        monkeypatch.delenv(name)
    return CliRunner()
