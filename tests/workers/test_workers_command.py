"""`esl workers`: who holds which store, lease and heartbeat ages, each store's lag; and
a clear refusal on SQLite, where one controller runs."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine
from typer.testing import CliRunner

from esl.cli import app
from tests.support.database import seeded_sqlite_engine
from tests.workers.database import STORES, two_workers_sharing_the_stores


def test_esl_workers_shows_each_workers_stores_and_ages(engine: Engine, database_url: str) -> None:
    first, second = two_workers_sharing_the_stores(engine, now=datetime.now(UTC))

    result = CliRunner().invoke(app, ["workers", "--json"], env={"ESL_DATABASE_URL": database_url})
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    by_worker = {view["client_id"]: view for view in shown["workers"]}
    assert set(by_worker) == {first.mqtt_client_id, second.mqtt_client_id}
    assert {len(view["stores"]) for view in by_worker.values()} == {3}
    assert sorted(store for view in by_worker.values() for store in view["stores"]) == sorted(
        STORES
    )
    # The second renewed last, 3 s ago; the first 4 s ago.
    assert 3 <= by_worker[second.mqtt_client_id]["heartbeat_age_s"] < 4 + 60
    assert by_worker[first.mqtt_client_id]["heartbeat_age_s"] >= 4
    stores = {store["store"]: store for store in shown["stores"]}
    for view in by_worker.values():
        for store in view["stores"]:
            assert stores[store]["holder"] == view["client_id"]
            assert stores[store]["open_frames"] == 0
            assert stores[store]["lag_s"] == 0

    table = CliRunner().invoke(app, ["workers"], env={"ESL_DATABASE_URL": database_url})
    assert table.exit_code == 0, table.output
    assert first.mqtt_client_id in table.output
    assert "(free)" not in table.output


def test_esl_workers_on_sqlite_says_one_controller_runs(tmp_path: Path) -> None:
    with seeded_sqlite_engine(tmp_path) as sqlite:
        result = CliRunner().invoke(app, ["workers"], env={"ESL_DATABASE_URL": str(sqlite.url)})
    assert result.exit_code == 1
    assert "workers share stores on PostgreSQL only" in result.output
