"""A controller killed while its database was away (SIGKILL: its status file stays)
is reported as not reporting, everywhere the API already said `running: false`:
`esl health`'s line, `esl health --json` and /metrics. Before, `esl health` kept saying
"database unreachable since" a time long past as if the controller still waited for it,
--json said nothing of the controller, and /metrics reported an ever-growing outage next
to a store of record that answered."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine
from typer.testing import CliRunner

from esl.cli import app
from esl.pipeline.controller_status import (
    ControllerStatus,
    controller_status_path,
    write_controller_status,
)
from esl.settings import Settings
from tests.pipeline.controller_report import controller_health, metrics_text
from tests.support.clock import wall_clock

RENEW_S = 1.0


def _killed_during_an_outage(data_dir: Path) -> None:
    """Its last report, ten minutes ago: the database away for a minute already."""
    now = wall_clock()
    write_controller_status(
        controller_status_path(data_dir),
        ControllerStatus(
            pid=4711,
            host="shop-srv",
            started_at=now - timedelta(hours=1),
            written_at=now - timedelta(minutes=10),
            database_unreachable_since=now - timedelta(minutes=11),
            database_failed_tries=12,
            database_error="database is locked",
            database_outages=1,
        ),
    )


def _env(tmp_path: Path, engine: Engine) -> dict[str, str]:
    return {
        "ESL_DATA_DIR": str(tmp_path),
        "ESL_DATABASE_URL": str(engine.url),
        "ESL_CONTROLLER_LEASE_RENEW_S": str(RENEW_S),
        "ESL_CONTROLLER_LEASE_STALE_S": "5",
    }


async def test_esl_health_says_the_controller_no_longer_reports(
    engine: Engine, tmp_path: Path
) -> None:
    _killed_during_an_outage(tmp_path)
    settings = Settings.defaults().model_copy(
        update={"data_dir": tmp_path, "controller_lease_renew_s": RENEW_S}
    )
    api = await controller_health(settings, engine)
    assert api["running"] is False
    text = CliRunner().invoke(app, ["health"], env=_env(tmp_path, engine))
    assert text.exit_code == 0, text.output
    line = text.output.strip().splitlines()[-1]
    assert line.startswith("controller pid 4711 on shop-srv: not reporting since "), line
    ago = re.search(r"\((\d+) s ago\)", line)
    assert ago is not None, line
    assert 600 <= int(ago.group(1)) <= 660, line
    assert "its last report: the database did not answer since" in line, line
    assert "database unreachable" not in line, line  # the database answers now


async def test_esl_health_json_carries_the_controller_as_the_api_does(
    engine: Engine, tmp_path: Path
) -> None:
    _killed_during_an_outage(tmp_path)
    settings = Settings.defaults().model_copy(
        update={"data_dir": tmp_path, "controller_lease_renew_s": RENEW_S}
    )
    api = await controller_health(settings, engine)
    result = CliRunner().invoke(app, ["health", "--json"], env=_env(tmp_path, engine))
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["stores"] == []  # the label counts, as before (no labels here)
    controller = document["controller"]
    assert controller["running"] is False
    assert controller["pid"] == 4711
    assert controller["database_failed_tries"] == 12
    assert set(controller) == set(api)


def test_esl_health_json_without_a_controller(engine: Engine, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["health", "--json"], env=_env(tmp_path, engine))
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["controller"] == {"running": False}


def test_metrics_report_no_outage_from_a_dead_controllers_last_word(
    engine: Engine, tmp_path: Path
) -> None:
    _killed_during_an_outage(tmp_path)
    lines = metrics_text(
        engine, controller_status_path(tmp_path), renew_every=timedelta(seconds=RENEW_S)
    ).splitlines()
    assert "esl_store_of_record_up 1.0" in lines
    assert "esl_controller_up 0.0" in lines
    assert "esl_database_unreachable_seconds 0.0" in lines
