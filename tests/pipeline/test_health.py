"""Label health per store, as the service, the API and `esl health` report it."""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from esl.api.app import create_app
from esl.audit.classify import AuditClass
from esl.audit.gather import gather_audit
from esl.cli import app as cli_app
from esl.db.models import OutboxRow
from esl.delivery_states import OutboxStatus, ParkReason
from esl.services.health import label_health
from esl.services.keys import Role, create_key
from esl.services.label_status import StatusThresholds
from esl.settings import Settings
from gateways.base import GatewayState, GatewayStatus, Uplink
from gateways.protocol import ReasonCode, decode_response, encode_response, peek_header
from tests.pipeline.in_memory_gateway import radio
from tests.pipeline.small_world import T0, World


@pytest.fixture
def world(engine: Engine) -> World:
    return World.priced(engine, count=4)


def counts(world: World) -> dict[str, object]:
    with world.sessions() as session:
        (store,) = label_health(session, now=world.clock.now)
    return {
        "labels": store.labels,
        "up_to_date": store.up_to_date,
        "pending": store.pending,
        "failed": store.failed,
        "offline": store.offline,
        "low_battery": store.low_battery,
        "failures": store.failures,
    }


async def test_health_follows_labels_from_pending_to_up_to_date_and_failed(world: World) -> None:
    flat = sorted(world.labels)[0]
    world.labels[flat].set_battery_mv(2_300)  # below the refresh threshold
    world.controller.plan_due_work()
    assert counts(world) == {
        "labels": 4,
        "up_to_date": 0,
        "pending": 4,
        "failed": 0,
        "offline": 0,  # never heard yet: waiting for a first answer, not offline
        "low_battery": 0,
        "failures": {},
    }
    for _ in range(world.controller.settings.policy.max_attempts):
        await world.send_due()
        world.dispatcher.settle(radio(world.gateway.take(), world.labels, now=world.clock.now))
        world.clock.advance(timedelta(minutes=2))  # past every backoff delay
    assert counts(world) == {
        "labels": 4,
        "up_to_date": 3,
        "pending": 0,
        "failed": 1,
        "offline": 0,
        "low_battery": 1,
        "failures": {"flat battery": 1},
    }
    world.clock.advance(timedelta(hours=1))
    assert counts(world)["offline"] == 4


async def test_the_api_and_the_cli_report_the_same_health(
    world: World, engine: Engine, tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.controller.plan_due_work()
    await world.send_due()
    world.dispatcher.settle(radio(world.gateway.take(), world.labels, now=world.clock.now))
    with world.sessions.begin() as session:
        _, auditor = create_key(session, name="a", role=Role.AUDITOR, store=None, now=T0)
        _, other_store = create_key(session, name="s", role=Role.STORE, store="S02", now=T0)
    app = create_app(Settings(currency="PLN"), engine=engine, clock=world.clock)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://esl") as client:
        response = await client.get("/api/v1/health/labels", headers={"X-API-Key": auditor})
        assert response.status_code == 200
        assert response.json() == [
            {
                "store": "S01",
                "labels": 4,
                "up_to_date": 4,
                "pending": 0,
                "failed": 0,
                "unplanned": 0,
                "offline": 0,
                "low_battery": 0,
                "failures": {},
                "scheduled": 0,
                "unbound": 0,
                "unplanned_reasons": {},
            }
        ]
        # A store key sees its own store (which has no labels), never another's.
        mine = await client.get("/api/v1/health/labels", headers={"X-API-Key": other_store})
        assert mine.json()[0]["store"] == "S02"
        assert mine.json()[0]["labels"] == 0
        refused = await client.get(
            "/api/v1/health/labels?store=S01", headers={"X-API-Key": other_store}
        )
        # Asking for another store is refused, as on every other route (docs/api.md).
        assert refused.status_code == 403
        assert (await client.get("/api/v1/health/labels")).status_code == 401

    monkeypatch.setenv("ESL_DATABASE_URL", str(engine.url))
    result = CliRunner().invoke(cli_app, ["health", "--json"])
    assert result.exit_code == 0, result.output
    (report,) = json.loads(result.output)["stores"]
    assert report["store"] == "S01"
    assert report["up_to_date"] == 4
    result = CliRunner().invoke(cli_app, ["health"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[1].split()[:3] == ["S01", "4", "4"]


async def test_health_the_api_the_cli_the_audit_and_the_demo_agree_on_one_world(
    world: World, engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One classifier (esl.services.label_status): a battery between 2,400 and 2,600 mV
    and an offline store gateway are counted alike everywhere."""
    world.controller.plan_due_work()
    await world.send_due()
    world.dispatcher.settle(radio(world.gateway.take(), world.labels, now=world.clock.now))
    weak, *others = sorted(world.labels)
    world.labels[weak].set_battery_mv(2_500)
    # A check-in comes after the acknowledgement, by the label's clock: the same claim
    # again would be refused as a duplicate (esl/pipeline/answer_acceptance.py).
    world.clock.advance(timedelta(seconds=1))
    report = world.labels[weak].status_report(now=world.clock.now)
    assert report is not None
    world.dispatcher.settle([Uplink("S01", "gw1", report, world.clock.now)])
    settings = Settings(data_dir=tmp_path, database_url=str(engine.url))

    def everyone() -> list[dict[str, int]]:
        thresholds = StatusThresholds.from_settings(settings)
        with world.sessions() as session:
            (health,) = label_health(session, now=world.clock.now, thresholds=thresholds)
            audit = gather_audit(
                session,
                at=world.clock.now,
                now=world.clock.now,
                currency="PLN",
                thresholds=thresholds,
                locale="pl_PL",
            ).report
        classes = Counter(verdict.audit_class for verdict in audit.labels)
        cli = CliRunner().invoke(cli_app, ["health", "--json"])
        assert cli.exit_code == 0, cli.output
        (from_cli,) = json.loads(cli.output)["stores"]
        return [
            {"offline": health.offline, "low_battery": health.low_battery},
            {"offline": from_cli["offline"], "low_battery": from_cli["low_battery"]},
            # The audit puts offline before low battery (a label both is offline).
            {
                "offline": classes[AuditClass.OFFLINE],
                "low_battery": classes[AuditClass.LOW_BATTERY]
                + sum(
                    1
                    for v in audit.labels
                    if v.audit_class is AuditClass.OFFLINE
                    and v.battery_mv is not None
                    and v.battery_mv < thresholds.low_battery_mv
                ),
            },
        ]

    monkeypatch.setenv("ESL_DATABASE_URL", str(engine.url))
    monkeypatch.setenv("ESL_DATA_DIR", str(tmp_path))
    assert everyone() == [{"offline": 0, "low_battery": 1}] * 3
    with world.sessions() as session:
        (health,) = label_health(
            session, now=world.clock.now, thresholds=StatusThresholds.from_settings(settings)
        )
    assert health.up_to_date == len(world.labels)  # the demo's "up to date" is this count

    # The store gateway goes offline: all its labels are offline, for everyone.
    world.dispatcher.handle_event(
        GatewayStatus("S01", "gw1", GatewayState.OFFLINE, world.clock.now, "connection lost")
    )
    world.dispatcher.step()
    assert everyone() == [{"offline": 4, "low_battery": 1}] * 3
    assert others  # the weak one and the others are all offline now


async def test_an_update_refused_for_good_is_parked_with_its_reason_code(world: World) -> None:
    """The parked reason is a `ParkReason` and a detail in the database; health shows the
    two together, as it always did ("rejected: WRONG_MODEL")."""
    refusing = sorted(world.labels)[0]
    world.controller.plan_due_work()
    await world.send_due()
    answers = []
    for uplink in radio(world.gateway.take(), world.labels, now=world.clock.now):
        if peek_header(uplink.payload).label_id == refusing:
            # What a label of another model answers, signed with its own key.
            key = world.keys[refusing]
            response = decode_response(uplink.payload, key=key)
            refused = dataclasses.replace(response, reason=ReasonCode.WRONG_MODEL)
            uplink = dataclasses.replace(uplink, payload=encode_response(refused, key=key))
        answers.append(uplink)
    world.dispatcher.settle(answers)
    with world.sessions() as session:
        parked = session.execute(
            select(OutboxRow.parked_reason, OutboxRow.parked_detail).where(
                OutboxRow.status == OutboxStatus.PARKED
            )
        ).all()
    assert [tuple(row) for row in parked] == [(ParkReason.REJECTED, "WRONG_MODEL")]
    assert counts(world)["failures"] == {"rejected: WRONG_MODEL": 1}
