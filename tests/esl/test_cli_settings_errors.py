"""Settings an operator gives that cannot be used stop the command with what is wrong and
exit code 2 (docs/operations.md, Settings), before anything is created or started."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from esl.cli import app

pytestmark = pytest.mark.integration


@pytest.fixture
def bare(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """The `esl` command line in an empty directory, with no `ESL_` variable set."""
    monkeypatch.chdir(tmp_path)
    for name in [n for n in os.environ if n.startswith("ESL_")]:
        monkeypatch.delenv(name)
    return CliRunner()


@pytest.mark.parametrize("make", ["nothing", "a directory"])
def test_an_env_file_that_cannot_be_read_stops_the_command_and_creates_nothing(
    bare: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make: str
) -> None:
    """A typo in ESL_ENV_FILE (or a file not mounted yet) ran `esl db upgrade` on the
    defaults: a new, empty store of record in ./esl-data, and `esl run` against it."""
    env_file = tmp_path / "etc" / "esl.env"
    if make == "a directory":
        env_file.mkdir(parents=True)
    monkeypatch.setenv("ESL_ENV_FILE", str(env_file))
    result = bare.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(f"esl db upgrade: settings: ESL_ENV_FILE names {env_file}")
    assert not (tmp_path / "esl-data").exists()


@pytest.mark.parametrize("command", [["db", "upgrade"], ["db", "current"], ["health"]])
@pytest.mark.parametrize(
    "url", ["postgresql+psycopg//esl:s3cret@db/esl", "postgres://esl:s3cret@db/esl"]
)
def test_a_database_url_that_is_not_one_is_a_settings_error(
    bare: CliRunner, monkeypatch: pytest.MonkeyPatch, command: list[str], url: str
) -> None:
    """Before: "unexpected ArgumentError (or NoSuchModuleError) ... report it", exit 1,
    the line for bugs."""
    monkeypatch.setenv("ESL_DATABASE_URL", url)
    result = bare.invoke(app, command)
    assert result.exit_code == 2, result.stderr
    assert "ESL_DATABASE_URL" in result.stderr
    assert "postgresql+psycopg://USER:PASSWORD@HOST" in result.stderr
    assert "unexpected" not in result.stderr
    assert "s3cret" not in result.stderr
