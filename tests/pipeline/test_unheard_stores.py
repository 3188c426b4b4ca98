"""A store the controller serves and cannot hear is reported, until it is heard.

Behind `esl mqtt config`'s Mosquitto each store is heard on a login of its own
(`esl-controller.{store}`). A store added to the database after the configuration was
written has none: its session is refused, again and again, and its labels' answers reach
nobody. Frames still go out, so its labels change while the record calls them unconfirmed,
then parks their frames. Before, only a log line said why; `esl health`, the health API
and /metrics now name the store, since when and the broker's refusal, until `esl mqtt
config` runs again and the broker reloads.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, delete
from sqlalchemy.orm import sessionmaker
from typer.testing import CliRunner

from esl.api.app import create_app
from esl.cli import app
from esl.composition import RunningController, controller_settings, controller_transport
from esl.db.models import StoreRow
from esl.pipeline.controller_status import controller_status_path, read_controller_status
from esl.services.keys import Role, create_key
from esl.settings import Settings
from gateways.mqtt.driver import MqttGateway
from tests.support.clock import wall_clock
from tests.support.mosquitto_deployment import deployed
from tests.support.waiting import until

pytestmark = pytest.mark.integration


async def test_a_store_without_a_broker_login_is_reported_until_it_is_heard(
    engine: Engine, tmp_path: Path
) -> None:
    sessions = sessionmaker(engine)
    with sessions.begin() as session:  # S03 opens later
        session.execute(delete(StoreRow).where(StoreRow.code == "S03"))
        _, token = create_key(session, name="ops", role=Role.AUDITOR, store=None, now=wall_clock())
    status_path = controller_status_path(tmp_path)
    async with deployed(tmp_path / "broker", stores=("S01", "S02")) as broker:
        transport = controller_transport(
            broker.login("esl-controller"), reconnect_delay_s=(0.2, 0.4)
        )
        running = await RunningController.start(
            controller_settings(Settings.defaults()),
            transport=transport,
            sessions=sessions,
            clock=wall_clock,
            rng=random.Random(1),
        )
        running.controller.status_path = status_path
        try:
            await until(
                lambda: transport.store_sessions == {"S01", "S02"} and _unheard(transport) == {},
                what="S01 and S02 heard on their own sessions",
                timeout_s=20,
            )
            with sessions.begin() as session:  # a new store, `esl mqtt config` not run again
                session.add(StoreRow(code="S03", name="Kraków", zone="south"))
            await until(
                lambda: "refused" in _why_unheard(status_path, "S03"),
                what="the status file naming S03 and the broker's refusal",
                timeout_s=20,
            )
            status = read_controller_status(status_path)
            assert status is not None
            assert sorted(status.stores_unheard) == ["S03"]

            env = {"ESL_DATA_DIR": str(tmp_path), "ESL_DATABASE_URL": str(engine.url)}
            health = CliRunner().invoke(app, ["health"], env=env)
            assert health.exit_code == 0, health.output
            assert re.search(
                r"stores not heard \(their answers cannot be confirmed\): S03 since "
                r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(.*refused",
                health.output,
            ), health.output
            api = create_app(Settings(data_dir=tmp_path), engine=engine, clock=wall_clock)
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=api), base_url="http://esl"
            ) as client:
                answer = await client.get("/api/v1/health/controller", headers={"X-API-Key": token})
                metrics = (await client.get("/metrics")).text
            assert answer.status_code == 200, answer.text
            assert list(answer.json()["stores_unheard"]) == ["S03"]
            assert "refused" in answer.json()["stores_unheard"]["S03"]["reason"]
            assert re.findall(
                r'^esl_controller_store_unheard_seconds\{store="(\w+)"\} ', metrics, re.M
            ) == ["S03"]

            broker.reconfigure(["S01", "S02", "S03"])  # `esl mqtt config`, then SIGHUP
            await until(
                lambda: _stores_unheard(status_path) == set(),
                what="S03 heard once its login exists",
                timeout_s=20,
            )
            health = CliRunner().invoke(app, ["health"], env=env)
            assert "not heard" not in health.output, health.output
        finally:
            await running.stop()


def _unheard(transport: MqttGateway) -> dict[str, object]:
    return dict(transport.unheard_stores)


def _why_unheard(path: Path, store: str) -> str:
    status = read_controller_status(path)
    unheard = None if status is None else status.stores_unheard.get(store)
    return "" if unheard is None else unheard.reason


def _stores_unheard(path: Path) -> set[str] | None:
    status = read_controller_status(path)
    return None if status is None else set(status.stores_unheard)
