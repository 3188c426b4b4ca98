"""An `ESL_` name in the ESL_ENV_FILE that is no setting stops the command with the name
it most looks like, exit code 2, before anything is created (docs/operations.md,
Settings). Before, `ESL_CURENCY=EUR` was skipped without a word and every command ran in
PLN. The process environment is not held to it: it is shared with other programs and
versions of esl."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from esl.cli import app

pytestmark = pytest.mark.integration


def _env_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "esl.env"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("line", "said"),
    [
        ("ESL_CURENCY=EUR", "sets ESL_CURENCY, which is no setting: did you mean ESL_CURRENCY?"),
        ("esl_databse_url=x", "sets esl_databse_url, which is no setting: did you mean "
         "ESL_DATABASE_URL?"),
        ("ESL_COLOUR=blue", "sets ESL_COLOUR, which is no setting: remove it, or correct its name"),
    ],
)  # fmt: skip
def test_a_misspelt_name_in_the_env_file_stops_the_command(
    bare: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, line: str, said: str
) -> None:
    env_file = _env_file(tmp_path, f"ESL_LOCALE=pl_PL\nPOSTGRES_PASSWORD=x\n{line}\n")
    monkeypatch.setenv("ESL_ENV_FILE", str(env_file))
    result = bare.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 2, result.output
    assert result.stderr.strip() == f"esl db upgrade: settings: ESL_ENV_FILE {env_file} {said}"
    assert not (tmp_path / "esl-data").exists()


def test_known_names_and_others_in_the_file_and_unknown_ones_in_the_environment_are_taken(
    bare: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_file = _env_file(
        tmp_path, f"esl_data_dir={tmp_path / 'data'}\nESL_CURRENCY=EUR\nPOSTGRES_DB=esl\n"
    )
    monkeypatch.setenv("ESL_ENV_FILE", str(env_file))
    monkeypatch.setenv("ESL_CURENCY", "PLN")  # another program's, or a typo left alone
    result = bare.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "data" / "esl.sqlite").exists()
