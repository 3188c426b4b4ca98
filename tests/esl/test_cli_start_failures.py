"""Operator mistakes at start-up said plainly, and nothing left behind by a failed start.

README.md: "When something is wrong, every command says what and what to do in one or two
lines and exits non-zero"; "unexpected ... report it" is for bugs only."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from esl.cli import app
from tests.fixtures.mosquitto import free_port

pytestmark = pytest.mark.integration


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("ESL_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("ESL_DATABASE_URL", raising=False)
    monkeypatch.delenv("ESL_ENV_FILE", raising=False)
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    return runner


def _no_bug_report(result: Result) -> None:
    assert "Traceback" not in result.output, result.output
    assert "unexpected" not in result.output, result.output


def test_esl_run_after_an_unreachable_broker_is_not_refused_as_another_controller(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The first start took the controller lease, then found no broker and exited: it
    # gave the lease back, so the second start says what is wrong (still no broker)
    # instead of "another controller runs" for a minute, naming the exited process.
    monkeypatch.setenv("ESL_BROKER_URL", f"mqtt://esl@127.0.0.1:{free_port()}")
    first = cli.invoke(app, ["run"])
    assert first.exit_code == 1
    assert "cannot connect to broker" in first.stderr, first.output
    monkeypatch.setenv("ESL_BROKER_URL", f"mqtt://esl@127.0.0.1:{free_port()}")
    second = cli.invoke(app, ["run"])
    assert second.exit_code == 1
    assert "another controller runs" not in second.output, second.output
    assert "cannot connect to broker" in second.stderr, second.output


@pytest.mark.parametrize("host", ["no-such-host.invalid", "192.0.2.1"])
def test_serve_on_a_host_it_cannot_listen_on_is_one_plain_error(cli: CliRunner, host: str) -> None:
    result = cli.invoke(app, ["serve", "--host", host, "--port", str(free_port())])
    assert result.exit_code == 1
    _no_bug_report(result)
    assert "cannot listen there" in result.stderr
    assert "ESL_API_HOST" in result.stderr


def test_run_metrics_port_in_use_names_the_option_esl_run_has(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ESL_BROKER_URL", f"mqtt://esl@127.0.0.1:{free_port()}")
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = cli.invoke(app, ["run", "--metrics-port", str(port)])
    assert result.exit_code == 1
    assert "already in use" in result.stderr
    assert "--metrics-port" in result.stderr
