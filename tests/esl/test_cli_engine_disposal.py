"""A command run in-process (as the tests run them) leaves no connection open behind it:
the engine `sessions_of` opens for the command is disposed when the command ends."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

import esl.db.readiness
from esl.cli import app
from tests.support.database import database_url


def _open_connections(engine: Engine, application: str) -> int:
    """The server's connections named `application`, once those closed have gone: a
    backend leaves pg_stat_activity a moment after its client hung up (seconds on a loaded
    CI machine), so a closed connection is waited out for up to 10 s; one still open
    after that is counted."""
    deadline = time.monotonic() + 10.0
    while True:
        with engine.connect() as connection:
            count = int(
                connection.execute(
                    text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :name"),
                    {"name": application},
                ).scalar_one()
            )
        if count == 0 or time.monotonic() > deadline:
            return count
        time.sleep(0.1)


@pytest.mark.parametrize("command", ["keys", "import"])
def test_a_command_disposes_the_engine_it_opened(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, command: str
) -> None:
    url = database_url(engine)
    application = f"esl-cli-{uuid.uuid4().hex[:10]}"
    if engine.dialect.name == "postgresql":
        # The command's own connections, told apart from every other on the server.
        url += f"{'&' if '?' in url else '?'}application_name={application}"
    monkeypatch.setenv("ESL_DATABASE_URL", url)
    opened: list[Engine] = []
    open_ready_engine = esl.db.readiness.open_ready_engine

    def recorded(*args: Any, **kwargs: Any) -> Engine:
        opened.append(open_ready_engine(*args, **kwargs))
        return opened[-1]

    monkeypatch.setattr(esl.db.readiness, "open_ready_engine", recorded)
    stores = tmp_path / "stores.csv"
    stores.write_text("code,name\nS901,Store 901\n", encoding="utf-8")
    arguments = ["keys", "list"] if command == "keys" else ["import", "stores", str(stores)]
    runner = CliRunner()
    for _ in range(3):
        result = runner.invoke(app, arguments)
        assert result.exit_code == 0, result.output
    assert len(opened) == 3  # one engine per command
    # The engines are kept alive here, so nothing but dispose() closes their connections.
    if engine.dialect.name == "postgresql":
        assert _open_connections(engine, application) == 0
    for used in opened:
        assert used.pool.checkedin() == 0, "the command's engine still pools a connection"
