"""`esl demo` reads its settings as every command does (ESL_ and ESL_ENV_FILE), and a
setting it cannot use stops it in one line before it touches the output folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from esl.cli import app

pytestmark = [pytest.mark.integration]

DEMO = ["demo", "--stores", "1", "--labels", "1", "--sim-speed", "20"]


def test_the_demo_refuses_an_unreadable_esl_env_file_and_creates_nothing(tmp_path: Path) -> None:
    """docs/operations.md (Settings): an ESL_ENV_FILE that cannot be read stops the
    command with exit 2 and creates nothing. The demo ignored ESL_ENV_FILE and ran on
    the defaults."""
    out = tmp_path / "demo"
    result = CliRunner().invoke(
        app, [*DEMO, "--out", str(out)], env={"ESL_ENV_FILE": str(tmp_path / "no-such.env")}
    )
    assert result.exit_code == 2, result.output
    assert "esl demo: settings: ESL_ENV_FILE names" in result.output, result.output
    assert not out.exists()


def test_the_demo_reads_the_settings_of_esl_env_file(tmp_path: Path) -> None:
    """The settings in a readable ESL_ENV_FILE are the demo's: one it cannot use stops
    it, as it stops `esl run` (the demo ran on the defaults, the file unread)."""
    env_file = tmp_path / "esl.env"
    env_file.write_text("ESL_RETRY_MAX_DELAY_S=inf\n", encoding="utf-8")
    out = tmp_path / "demo"
    result = CliRunner().invoke(
        app, [*DEMO, "--out", str(out)], env={"ESL_ENV_FILE": str(env_file)}
    )
    assert result.exit_code == 2, result.output
    assert "esl demo: settings: ESL_RETRY_MAX_DELAY_S" in result.output, result.output
    assert not out.exists()


def test_a_bad_setting_stops_the_demo_in_one_line_before_it_wipes_the_last_run(
    tmp_path: Path,
) -> None:
    """docs/operations.md: a setting that cannot be used stops the command with
    `esl CMD: settings: ESL_...: ...`, exit 2, creating nothing. The demo first deleted
    the previous run's previews, sim state and summary and created a new database, then
    printed a pydantic dump in a usage box."""
    out = tmp_path / "demo"
    first = CliRunner().invoke(app, [*DEMO, "--out", str(out)])
    assert first.exit_code == 0, first.output
    result = CliRunner().invoke(
        app, [*DEMO, "--out", str(out)], env={"ESL_RETRY_MAX_DELAY_S": "inf"}
    )
    assert result.exit_code == 2, result.output
    assert "esl demo: settings: ESL_RETRY_MAX_DELAY_S" in result.output, result.output
    assert "pydantic" not in result.output
    assert (out / "summary.json").exists(), "the previous run's output was wiped"
