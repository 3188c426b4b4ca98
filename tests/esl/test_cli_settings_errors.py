"""Settings an operator gives that cannot be used stop the command with what is wrong and
exit code 2 (docs/operations.md, Settings), before anything is created or started."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from esl.cli import app

pytestmark = pytest.mark.integration


def _esl(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """`esl ARGS` as its own process, as an operator runs it (a command that starts
    anyway is stopped by the timeout)."""
    full = {k: v for k, v in os.environ.items() if not k.startswith("ESL_")} | env
    program = "import sys; sys.argv[0] = 'esl'; from esl.cli import main; main()"
    return subprocess.run(
        [sys.executable, "-c", program, *args],
        env=full,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


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


@pytest.mark.parametrize(
    ("name", "value"),
    [
        # A lease or delay of infinity (or one longer than a timedelta holds) ended
        # `esl run` in "unexpected OverflowError ... report it", exit 1.
        ("ESL_CONTROLLER_LEASE_STALE_S", "inf"),
        ("ESL_RETRY_MAX_DELAY_S", "1e300"),
        ("ESL_LABEL_ACTION_WAIT_LIMIT_S", "nan"),
        ("ESL_LABEL_OFFLINE_AFTER_S", "100000000000000000"),
        ("ESL_LABEL_VITALS_KEEP_DAYS", "1e12"),
        # A locale without label texts let `esl run` run on with every label `unplanned`
        # ("no label texts for locale 'fr_FR'"): no shelf got a price, exit 0. An unknown
        # currency started too.
        ("ESL_LOCALE", "fr_FR"),
        ("ESL_CURRENCY", "PLNX"),
    ],
)
def test_esl_run_refuses_a_setting_it_cannot_use_with_exit_2(
    tmp_path: Path, name: str, value: str
) -> None:
    env = {"ESL_DATA_DIR": str(tmp_path / "data")}
    assert _esl(["db", "upgrade"], env, tmp_path).returncode == 0
    try:
        done = _esl(["run"], env | {name: value}, tmp_path)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{name}={value}: `esl run` started and kept running")
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(f"esl run: settings: {name}"), done.stderr
    assert "unexpected" not in done.stderr
