"""An `ESL_` name in the ESL_ENV_FILE that is no setting stops the command with the name
it most looks like, exit code 2, before anything is created (docs/operations.md,
Settings). Before, `ESL_CURENCY=EUR` was skipped without a word and every command ran in
PLN. The process environment is not held to it: it is shared with other programs and
versions of esl."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
import typer
from typer.testing import CliRunner

from esl.cli import app
from esl.settings import COMMAND_VARIABLES

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


@pytest.mark.parametrize("line", ["ESL_LOG_LEVEL=warning", "ESL_LOG_FORMAT=json", "ESL_DEBUG=0"])
def test_an_options_variable_in_the_env_file_is_warned_of_not_refused(
    bare: CliRunner,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    line: str,
) -> None:
    """docs/operations.md documents ESL_LOG_LEVEL, ESL_LOG_FORMAT and ESL_DEBUG: an
    /etc/esl.env holding them upgraded before the name check came, and must still; they are
    options' variables, read from the process environment only, so the file's copy is
    warned of (it has no effect there) instead of stopping every command as no setting."""
    env_file = _env_file(tmp_path, f"ESL_DATA_DIR={tmp_path / 'data'}\n{line}\n")
    monkeypatch.setenv("ESL_ENV_FILE", str(env_file))
    result = bare.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert "which is no setting" not in result.stderr
    name = line.split("=")[0]
    assert any(
        name in record.getMessage() and "process environment only" in record.getMessage()
        for record in caplog.records
    )


def test_the_options_variables_are_every_envvar_the_commands_declare() -> None:
    # One list for the check: an option given an `envvar` later must be added to it, or an
    # env file naming it would be refused as no setting.
    declared: set[str] = set()

    def walk(command: click.Command) -> None:
        for parameter in command.params:
            envvar = getattr(parameter, "envvar", None)
            if isinstance(envvar, str):
                declared.add(envvar)
            elif envvar:
                declared.update(envvar)
        for sub in getattr(command, "commands", {}).values():
            walk(sub)

    walk(typer.main.get_command(app))
    assert declared == COMMAND_VARIABLES


def test_an_env_file_not_in_utf8_is_a_settings_error_not_a_bug(
    bare: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """docs/operations.md: an ESL_ENV_FILE that cannot be read stops the command with
    `settings:` and exit 2. A file saved in cp1250 (a comment naming the store 'Kraków')
    ended in 'error: unexpected UnicodeDecodeError ... report it', exit 1."""
    env_file = tmp_path / "esl.env"
    env_file.write_bytes(
        b"# Sklep Krak\xf3w\nESL_DATA_DIR=" + str(tmp_path / "data").encode() + b"\n"
    )
    monkeypatch.setenv("ESL_ENV_FILE", str(env_file))
    result = bare.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(f"esl db upgrade: settings: ESL_ENV_FILE names {env_file}")
    assert "not UTF-8 text: byte 0xF3 on line 1" in result.stderr
    assert "report it" not in result.stderr
    assert not (tmp_path / "data").exists()
