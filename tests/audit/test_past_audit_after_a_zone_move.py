"""`--at` before a store moved to another price zone: the store is priced in the zone it
was in then, not the one it is in now."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import httpx
from sqlalchemy import Engine

from esl.api.app import create_app
from esl.audit.classify import AuditClass
from esl.imports.stores import import_stores
from esl.services.keys import Role, create_key
from esl.settings import Settings
from tests.audit.world import T0, AuditWorld
from tests.support.api import AppSwitch

AT = T0 + timedelta(hours=2)


def _labelled(world: AuditWorld, label_id: str, store: str, sku: str) -> None:
    world.label(label_id, store=store, sku=sku)
    world.acknowledged(label_id, at=T0)
    world.checked_in(label_id, at=AT - timedelta(minutes=1))


def test_a_past_audit_prices_a_store_in_the_zone_it_was_in_then(world: AuditWorld) -> None:
    """S01 was in the north zone (milk 3.49, national) until T1, then moved to the south
    zone (milk 3.29). Its label showed 3.49, right until T1. An audit of T1 - 45 min
    (`--at`) must find it `match`: the ledger records the move at T1, and 3.49 was the
    price due in S01 then. It says `stale` ("shows 3.49, due 3.29")."""
    world.publish(
        [{"action": "set_price", "sku": "MLK-1", "amount": "3.29", "zone": "south"}],
        now=T0 - timedelta(days=2),
    )
    _labelled(world, "L-milk", "S01", "MLK-1")
    t1 = T0 + timedelta(hours=1)
    with world.sessions.begin() as session:
        import_stores(
            session,
            "code,name,zone,time_zone\nS01,Gdańsk Oliwa,south,\n",
            imported_by="test",
            now=t1,
            currency="PLN",
        )
    before = t1 - timedelta(minutes=45)
    verdict = {v.label_id: v for v in world.audit(at=before, now=AT, stores=["S01"]).report.labels}[
        "L-milk"
    ]
    assert verdict.shown_price == Decimal("3.49")
    assert verdict.due_price == Decimal("3.49"), verdict.reason
    assert verdict.audit_class is AuditClass.MATCH, verdict.reason


def test_a_past_audit_dates_a_label_in_the_time_zone_its_store_had_then(
    world: AuditWorld,
) -> None:
    """A promotion ends at 00:30 in Warsaw, 23:30 the day before in Lisbon. S01 printed
    the Warsaw day (it named no time zone: the locale's) until it was given Lisbon's at
    T1; an audit of before T1 finds its label right, one of now finds the day wrong."""
    ends = T0.replace(hour=23, minute=30) + timedelta(days=3)  # 00:30 the next day in Warsaw
    world.publish(
        [
            {
                "action": "upsert_promotion",
                "promotion_id": "WEEKEND",
                "kind": "percent_off",
                "percent": "20",
                "skus": ["MLK-1"],
                "valid_until": ends.isoformat(),
            }
        ],
        now=T0 - timedelta(days=1),
    )
    _labelled(world, "L-milk", "S01", "MLK-1")
    t1 = T0 + timedelta(hours=1)
    with world.sessions.begin() as session:
        import_stores(
            session,
            "code,name,zone,time_zone\nS01,Gdańsk Oliwa,north,Europe/Lisbon\n",
            imported_by="test",
            now=t1,
            currency="PLN",
        )
    then = {v.label_id: v for v in world.audit(at=t1 - timedelta(minutes=45), now=AT).report.labels}
    assert then["L-milk"].audit_class is AuditClass.MATCH, then["L-milk"].reason
    now = {v.label_id: v for v in world.audit(at=AT).report.labels}
    assert now["L-milk"].audit_class is not AuditClass.MATCH


def test_the_api_audits_a_past_instant_in_the_zone_the_store_had_then(
    world: AuditWorld, engine: Engine, tmp_path: Path, http_server: tuple[AppSwitch, str]
) -> None:
    """The same move made through PUT /api/v1/stores/S01; GET /api/v1/audit?at= before it."""
    world.publish(
        [{"action": "set_price", "sku": "MLK-1", "amount": "3.29", "zone": "south"}],
        now=T0 - timedelta(days=2),
    )
    _labelled(world, "L-milk", "S01", "MLK-1")
    t1 = T0 + timedelta(hours=1)
    clock = [t1]
    switch, url = http_server
    switch.app = create_app(Settings(data_dir=tmp_path), engine=engine, clock=lambda: clock[0])
    with world.sessions.begin() as session:
        _, admin = create_key(session, name="admin", role=Role.ADMIN, store=None, now=T0)
    headers = {"X-API-Key": admin}
    try:
        with httpx.Client(base_url=url, timeout=30) as client:
            moved = client.put(
                "/api/v1/stores/S01",
                json={"name": "Gdańsk Oliwa", "zone": "south"},
                headers=headers,
            )
            assert moved.status_code == 200, moved.text
            clock[0] = AT
            before = (t1 - timedelta(minutes=45)).isoformat().replace("+00:00", "Z")
            then = client.get(f"/api/v1/audit?store=S01&at={before}", headers=headers).json()
            now = client.get("/api/v1/audit?store=S01", headers=headers).json()
    finally:
        switch.app = None
    assert {i["label_id"]: i["class"] for i in then["items"]} == {"L-milk": "match"}
    assert {i["label_id"]: i["class"] for i in now["items"]} == {"L-milk": "stale"}
