"""`esl db upgrade` and `esl db current` as an operator meets them: a database server that
refuses, and a target revision (docs/operations.md, When a command fails)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from esl.cli import app
from tests.fixtures.mosquitto import free_port

pytestmark = pytest.mark.integration


@pytest.fixture
def bare(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """The `esl` command line in an empty directory, with no `ESL_` variable set."""
    monkeypatch.chdir(tmp_path)
    for name in [n for n in os.environ if n.startswith("ESL_")]:
        monkeypatch.delenv(name)
    return CliRunner()


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
