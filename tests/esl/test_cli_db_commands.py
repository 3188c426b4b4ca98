"""`esl db upgrade` and `esl db current` as an operator meets them: a database server that
refuses, and a target revision (docs/operations.md, When a command fails)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from esl.cli import app
from esl.db.readiness import head_revision
from tests.fixtures.mosquitto import free_port

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("command", [["db", "current"], ["db", "upgrade"], ["health"]])
def test_a_database_server_that_refuses_is_named_without_its_password(
    bare: CliRunner, monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    """`esl db current` and `esl db upgrade` said "unexpected OperationalError ... report
    it" where `esl health` said which database it could not open."""
    port = free_port()  # nothing listens there
    monkeypatch.setenv("ESL_DATABASE_URL", f"postgresql+psycopg://esl:s3cret@127.0.0.1:{port}/esl")
    result = bare.invoke(app, command)
    assert result.exit_code == 1
    what, todo = result.stderr.splitlines()
    assert what.startswith(
        f"error: cannot open the database at postgresql+psycopg://esl:***@127.0.0.1:{port}/esl: "
    ), result.stderr
    assert todo == "  check ESL_DATABASE_URL and that the database server is running"
    assert "s3cret" not in result.stderr


def _current(cli: CliRunner) -> str:
    return cli.invoke(app, ["db", "current"]).stdout.split()[0]


def test_db_upgrade_says_the_revision_the_database_is_at(
    bare: CliRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("ESL_DATA_DIR", str(tmp_path / "data"))
    head = head_revision()
    shown = f"database at sqlite:///{tmp_path / 'data' / 'esl.sqlite'}"
    assert bare.invoke(app, ["db", "upgrade", "0005"]).stdout == f"{shown} is at 0005\n"
    assert bare.invoke(app, ["db", "upgrade", "0005"]).stdout == f"{shown} is at 0005\n"
    assert bare.invoke(app, ["db", "upgrade"]).stdout == f"{shown} is at {head} (head)\n"
    assert _current(bare) == head


@pytest.mark.parametrize("older", ["0005", "base"])
def test_db_upgrade_to_an_older_revision_is_refused(cli: CliRunner, older: str) -> None:
    """On a database at head, `esl db upgrade 0005` did nothing (Alembic does not go down)
    and printed "database at ... is at 0005", exit 0: an operator rolling back trusted it."""
    head = head_revision()
    result = cli.invoke(app, ["db", "upgrade", older])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"error: the database is at schema {head}, newer than {older}: "
        "`esl db upgrade` does not go down",
        "  to go back, restore a backup taken at that schema",
    ]
    assert _current(cli) == head


def test_db_upgrade_to_an_unknown_revision_says_which_there_are(cli: CliRunner) -> None:
    """Before: "unexpected CommandError ... report it"."""
    result = cli.invoke(app, ["db", "upgrade", "0999"])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "error: no schema revision '0999'",
        f"  name one from 0001 to {head_revision()}, or none for the newest (head)",
    ]
