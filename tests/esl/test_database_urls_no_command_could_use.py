"""An ESL_DATABASE_URL no command could use is a settings error, `settings:
ESL_DATABASE_URL ...` and exit code 2 (docs/operations.md, Settings), before anything is
created: one naming a driver this install lacks (most how-tos write
postgresql+psycopg2://), an asyncio driver, and an in-memory SQLite database. Before, the
first ended every command in `error: unexpected ModuleNotFoundError: No module named
'psycopg2' ... report it`, the line kept for bugs; the last let `esl db upgrade` say
`is at 0036 (head)` on a database gone when it ended, and every other command then said
`has no schema yet, run esl db upgrade`, a loop with no way out."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from esl.cli import app

pytestmark = pytest.mark.integration

COMMANDS = [["db", "upgrade"], ["db", "current"], ["health"]]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
@pytest.mark.parametrize(
    ("url", "missing"),
    [
        (
            "postgresql+psycopg2://esl:s3cret@127.0.0.1/esl",
            "'psycopg2' (for 'postgresql+psycopg2')",
        ),
        ("mysql://esl:s3cret@127.0.0.1/esl", "'MySQLdb' (for 'mysql')"),
        ("postgresql+asyncpg://esl:s3cret@127.0.0.1/esl", "'asyncpg' (for 'postgresql+asyncpg')"),
    ],
)
def test_a_driver_that_is_not_installed_is_named(
    bare: CliRunner, monkeypatch: pytest.MonkeyPatch, command: list[str], url: str, missing: str
) -> None:
    monkeypatch.setenv("ESL_DATABASE_URL", url)
    result = bare.invoke(app, command)
    assert result.exit_code == 2, result.stderr
    assert result.stderr.startswith(
        f"esl {' '.join(command)}: settings: ESL_DATABASE_URL needs the database driver "
        f"{missing}, which is not installed: write it as postgresql+psycopg://"
    ), result.stderr
    assert "s3cret" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_an_asyncio_driver_is_refused(bare: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    """psycopg's asyncio flavour is installed, but no command runs on it."""
    monkeypatch.setenv("ESL_DATABASE_URL", "postgresql+psycopg_async://esl:s3cret@127.0.0.1/esl")
    result = bare.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 2, result.stderr
    assert "ESL_DATABASE_URL names the asyncio driver 'postgresql+psycopg_async'" in result.stderr
    assert "s3cret" not in result.stderr


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
@pytest.mark.parametrize(
    "url", ["sqlite://", "sqlite:///:memory:", "sqlite:///file:esl?mode=memory&uri=true"]
)
def test_an_in_memory_sqlite_database_is_refused(
    bare: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: list[str], url: str
) -> None:
    monkeypatch.setenv("ESL_DATABASE_URL", url)
    result = bare.invoke(app, command)
    assert result.exit_code == 2, result.stdout + result.stderr
    assert result.stdout == ""
    assert result.stderr.startswith(
        f"esl {' '.join(command)}: settings: ESL_DATABASE_URL names an in-memory SQLite database"
    ), result.stderr
    assert list(tmp_path.iterdir()) == []  # nothing created
