"""`esl keys`, `esl label`, `esl publish` and `esl audit` fail as every other command does
(esl/cli/failures.py): `--debug` shows the traceback of a refusal, and a refusal that says
what to do (an error's hint) prints it. They used to catch our errors themselves and print
the message alone, so `--debug` showed nothing more and `esl keys create` on a missing
database did not say to run `esl db upgrade`. `esl audit` and `esl publish` keep their
exit code 2 for a refusal under `--debug` too (docs/audit.md, docs/operations.md).

The `--debug` runs are processes, as the operator runs them: the traceback is Python's own
output once the exception leaves `esl`, which CliRunner would keep to itself."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from esl.cli import app

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
ESL = str(Path(sys.executable).parent / "esl")


def _esl_debug(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("ESL_DEBUG", None)
    return subprocess.run(
        [ESL, "--debug", *args], env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    ("command", "error", "exit_code"),
    [
        (["keys", "revoke", "nobody"], "NotFoundError", 1),
        (["keys", "create", "till", "--role", "store"], "ConflictError", 1),
        (["label", "show", "L-404"], "NotFoundError", 1),
        (["label", "bind", "L-404", "MLK-1"], "NotFoundError", 1),
        (["audit", "--store", "NOPE"], "NotFoundError", 2),
        (["audit", "--fail-after", "soon"], "DurationError", 2),
    ],
    ids=["keys revoke", "keys create", "label show", "label bind", "audit store", "audit dur"],
)
def test_debug_shows_the_traceback_of_a_refusal(
    cli: CliRunner, command: list[str], error: str, exit_code: int
) -> None:
    result = _esl_debug(*command)
    assert result.returncode == exit_code, result.stderr
    assert "Traceback (most recent call last)" in result.stderr, result.stderr
    assert error in result.stderr, result.stderr


def test_debug_shows_the_traceback_of_a_publication_refused_and_keeps_exit_2(
    cli: CliRunner, tmp_path: Path
) -> None:
    path = tmp_path / "publication.json"
    body = {
        "title": "late",
        "effective_at": "2020-01-01T00:00:00Z",
        "items": [{"action": "set_price", "sku": "MLK-1", "amount": "3.19"}],
    }
    path.write_text(json.dumps(body), encoding="utf-8")
    result = _esl_debug("publish", str(path))
    assert result.returncode == 2, result.stderr  # docs/operations.md: a refused file is 2
    assert "Traceback (most recent call last)" in result.stderr, result.stderr
    assert "InvalidItemError" in result.stderr, result.stderr
    assert f"error: {path}: effective_at lies in the past" in result.stderr
    assert "  correct the file; nothing was stored" in result.stderr


@pytest.mark.parametrize(
    "command",
    [
        ["keys", "create", "till", "--role", "admin"],
        ["keys", "revoke", "till"],
        ["label", "show", "L-1"],
        ["label", "bind", "L-1", "MLK-1"],
        ["label", "unbind", "L-1"],
        ["label", "retire", "L-1"],
        ["label", "flash", "L-1"],
        ["label", "unassociate", "L-1"],
    ],
)
def test_a_refusal_with_a_hint_prints_the_hint(bare: CliRunner, command: list[str]) -> None:
    result = bare.invoke(app, command)
    assert result.exit_code == 1, result.output
    what, todo = result.stderr.splitlines()
    assert what.startswith("error: no database at "), result.stderr
    assert "esl db upgrade" in todo, result.stderr


def test_debug_shows_the_traceback_of_a_publication_file_not_utf8(
    cli: CliRunner, tmp_path: Path
) -> None:
    path = tmp_path / "publication.json"
    path.write_bytes('{"title": "Masło"}'.encode("cp1250"))
    result = _esl_debug("publish", str(path))
    assert result.returncode == 2, result.stderr
    assert "Traceback (most recent call last)" in result.stderr, result.stderr
    assert "InputFileError" in result.stderr, result.stderr
    assert f"error: {path}: not UTF-8 text" in result.stderr
