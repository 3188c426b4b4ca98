"""Mistakes a new user or an operator makes end in one or two lines that say what is wrong
and what to do, a non-zero exit code and no traceback (`--debug` shows it)."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from esl.cli import app
from esl.demo.output_lock import holding_output_dir
from tests.fixtures.mosquitto import free_port, start_mosquitto
from tests.support.database import PRODUCTS_CSV

pytestmark = pytest.mark.integration


def _one_or_two_lines(result: Result) -> list[str]:
    lines = [line for line in result.stderr.splitlines() if line.startswith(("error", "  "))]
    assert "Traceback" not in result.output
    assert 1 <= len(lines) <= 2, result.output
    return lines


@pytest.fixture
def bare(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """The `esl` command line pointed at a data directory with no database in it."""
    monkeypatch.setenv("ESL_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("ESL_DATABASE_URL", raising=False)
    monkeypatch.delenv("ESL_BROKER_URL", raising=False)
    monkeypatch.delenv("ESL_DEBUG", raising=False)
    return CliRunner()


@pytest.mark.parametrize(
    "command",
    [
        ["health"],
        ["health", "--store", "S001"],
        ["audit"],
        ["serve", "--port", "1"],
        ["run"],
        ["db", "current"],
        ["keys", "list"],
        ["export", "prices"],
    ],
)
def test_a_missing_database_says_to_run_db_upgrade_and_creates_nothing(
    bare: CliRunner, tmp_path: Path, command: list[str]
) -> None:
    result = bare.invoke(app, command)
    assert result.exit_code == 1
    what, todo = _one_or_two_lines(result)
    assert what == f"error: no database at {tmp_path / 'data' / 'esl.sqlite'}"
    assert "esl db upgrade" in todo
    assert not (tmp_path / "data" / "esl.sqlite").exists()


def test_a_database_without_schema_says_to_run_db_upgrade(bare: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "esl.sqlite").touch()
    for command in (["health"], ["audit"], ["db", "current"], ["run"]):
        result = bare.invoke(app, command)
        assert result.exit_code == 1
        what, todo = _one_or_two_lines(result)
        assert what.endswith("has no schema yet"), what
        assert "esl db upgrade" in todo


def test_debug_shows_the_traceback(bare: CliRunner) -> None:
    result = bare.invoke(app, ["--debug", "health"])
    assert result.exit_code == 1
    assert type(result.exception).__name__ == "DatabaseNotReadyError"


def test_db_current_names_the_revision(cli: CliRunner) -> None:
    result = cli.invoke(app, ["db", "current"])
    assert result.exit_code == 0
    assert result.stdout.strip().endswith("(head)")


def test_an_unknown_store_is_an_error_in_health_as_in_audit(cli: CliRunner) -> None:
    for command in (["health", "--store", "NOPE"], ["audit", "--store", "NOPE"]):
        result = cli.invoke(app, command)
        assert result.exit_code != 0, command
        assert _one_or_two_lines(result)[0] == "error: no store NOPE"


def test_an_unreachable_broker_stops_esl_run(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ESL_BROKER_URL", f"mqtt://esl@127.0.0.1:{free_port()}")
    result = cli.invoke(app, ["run"])
    assert result.exit_code == 1
    what, todo = _one_or_two_lines(result)
    assert what.startswith("error: cannot connect to broker 127.0.0.1:")
    assert "mqtt://USER:PASSWORD@HOST:PORT" in todo


def test_a_broker_url_with_a_wrong_scheme(cli: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESL_BROKER_URL", "http://127.0.0.1:1883")
    result = cli.invoke(app, ["run"])
    assert result.exit_code == 1
    what, todo = _one_or_two_lines(result)
    assert what == "error: unusable broker URL: scheme must be mqtt or mqtts, not 'http'"
    assert "mqtt://USER:PASSWORD@HOST:1883" in todo
    demo = cli.invoke(app, ["demo", "--broker", "http://127.0.0.1:1883"])
    assert demo.exit_code != 0
    assert "scheme must be mqtt" in demo.stderr


def test_sim_gateway_stops_when_the_broker_is_not_there(cli: CliRunner, tmp_path: Path) -> None:
    port = free_port()
    result = cli.invoke(
        app,
        [
            "sim", "gateway", "--store", "S001", "--labels", "1",
            "--broker", f"mqtt://127.0.0.1:{port}", "--state-dir", str(tmp_path / "sim"),
            "--connect-timeout", "1",
        ],
    )  # fmt: skip
    assert result.exit_code == 1
    what, _ = _one_or_two_lines(result)
    assert what == f"error: cannot connect to broker 127.0.0.1:{port}: no answer within 1 s"


def test_sim_gateway_and_esl_run_say_a_user_name_is_missing(
    cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broker = start_mosquitto(tmp_path / "broker", extra_config="allow_anonymous false")
    try:
        monkeypatch.setenv("ESL_BROKER_URL", broker.url)
        run = cli.invoke(app, ["run"])
        result = cli.invoke(
            app,
            [
                "sim", "gateway", "--store", "S001", "--labels", "1",
                "--broker", broker.url, "--state-dir", str(tmp_path / "sim"),
                "--connect-timeout", "3",
            ],
        )  # fmt: skip
    finally:
        broker.stop()
    assert result.exit_code == 1
    what, _ = _one_or_two_lines(result)
    assert "refused: Not authorized (no user name given: add --username" in what
    assert run.exit_code == 1
    what, todo = _one_or_two_lines(run)
    assert "Not authorized" in what, what
    assert "mqtt://USER:PASSWORD@HOST:PORT" in todo


def test_a_port_in_use(cli: CliRunner) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        for command in (["mqtt", "broker", "--port", str(port)], ["serve", "--port", str(port)]):
            result = cli.invoke(app, command)
            assert result.exit_code == 1, command
            what, todo = _one_or_two_lines(result)
            assert what.startswith("error: the port is already in use"), what
            assert "--port" in todo


def test_a_demo_on_a_folder_another_demo_uses(cli: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "demo"
    with holding_output_dir(out):  # as a running demo holds it
        result = cli.invoke(app, ["demo", "--stores", "1", "--labels", "1", "--out", str(out)])
    assert result.exit_code == 1
    assert _one_or_two_lines(result) == [
        f"error: another demo (pid {os.getpid()}) uses {out}: stop it, or pass another --out"
    ]
    assert sorted(path.name for path in out.iterdir()) == [".lock"]


def test_port_zero_is_refused(cli: CliRunner) -> None:
    result = cli.invoke(app, ["serve", "--port", "0"])
    assert result.exit_code == 2
    assert "--port" in result.stderr


def test_version() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.startswith("esl 0.")


def test_prices_import_into_a_database_without_stores(cli: CliRunner, tmp_path: Path) -> None:
    # The README's order of steps: db upgrade, import products, import prices.
    products = tmp_path / "products.csv"
    products.write_text(PRODUCTS_CSV, encoding="utf-8")
    assert cli.invoke(app, ["import", "products", str(products)]).exit_code == 0
    prices = tmp_path / "prices.csv"
    prices.write_text(
        "sku,scope,channel,store_or_zone,price,currency,valid_from,valid_until\n"
        "MLK-1,national,,,3.49,PLN,,\n",
        encoding="utf-8",
    )
    result = cli.invoke(app, ["import", "prices", str(prices)])
    assert result.exit_code == 0, result.output
    assert "1 rows, 1 new" in result.stdout


def test_logs_as_json_lines_for_a_collector(bare: CliRunner) -> None:
    result = bare.invoke(app, ["--log-level", "debug", "--log-format", "json", "db", "upgrade"])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    assert records
    assert all(set(record) >= {"time", "level", "logger", "message"} for record in records)
    assert any(record["logger"].startswith("alembic") for record in records)
