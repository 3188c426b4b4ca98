"""`esl health --json` is read by monitoring scripts (docs/operations.md, "Health from a
script"): it prints one JSON object even when the store of record cannot be opened (no
database yet, the PostgreSQL server down), with `stores` null and the controller's own
report, read from its status file, so a script can still alert on `controller.running`.
Before, stdout held the text line `controller: not running` there, and the script's JSON
parser failed exactly when the monitoring mattered most."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from esl.cli import app
from esl.pipeline.controller_status import (
    ControllerStatus,
    controller_status_path,
    write_controller_status,
)
from tests.fixtures.mosquitto import free_port
from tests.support.clock import wall_clock

pytestmark = pytest.mark.integration


def _unopenable(monkeypatch: pytest.MonkeyPatch, data_dir: Path, database: str) -> None:
    monkeypatch.setenv("ESL_DATA_DIR", str(data_dir))
    if database == "server down":
        monkeypatch.setenv(
            "ESL_DATABASE_URL", f"postgresql+psycopg://esl:pw@127.0.0.1:{free_port()}/esl"
        )


@pytest.mark.parametrize("database", ["none yet", "server down"])
def test_health_json_is_one_json_object_when_the_database_cannot_be_opened(
    bare: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database: str
) -> None:
    _unopenable(monkeypatch, tmp_path / "data", database)
    result = bare.invoke(app, ["health", "--json"])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert json.loads(result.stdout) == {"stores": None, "controller": {"running": False}}
    assert result.stderr.startswith("error: "), result.stderr  # why, for a person


def test_health_json_carries_the_controller_report_when_the_database_is_away(
    bare: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A controller reporting a second ago that it waits for the database: running, with
    the outage it reports, though `esl health` itself cannot read the counts."""
    data_dir = tmp_path / "data"
    now = wall_clock()
    write_controller_status(
        controller_status_path(data_dir),
        ControllerStatus(
            pid=4711,
            host="shop-srv",
            started_at=now - timedelta(hours=1),
            written_at=now - timedelta(seconds=1),
            database_unreachable_since=now - timedelta(minutes=2),
            database_failed_tries=7,
            database_error="connection refused",
            database_outages=1,
        ),
    )
    _unopenable(monkeypatch, data_dir, "server down")
    result = bare.invoke(app, ["health", "--json"])
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert document["stores"] is None
    assert document["controller"]["running"] is True
    assert document["controller"]["pid"] == 4711
    assert document["controller"]["database_error"] == "connection refused"


def test_health_without_json_still_prints_the_controller_line(
    bare: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _unopenable(monkeypatch, tmp_path / "data", "none yet")
    result = bare.invoke(app, ["health"])
    assert result.exit_code == 1
    assert result.stdout.strip() == "controller: not running"
