"""An audit of a past instant judges each label by the product as it was
then, as it does the stores (docs/audit.md, "Auditing the past: --at": bindings, what each
label showed, the ledger and each store as they were then; the limits it lists name rules,
promotions, stores, batteries, flips, attempts and unanswered frames, not product facts).

MLK-1 was entered as 0.9 l by mistake at T0 (its unit price 3.88 per litre then due on the
shelf, docs/pricing.md "Unit prices") and put right to 1 l two days later. L-took got the
0.9 l label a minute after T0; L-missed was out of reach and kept the 1 l label drawn
before. Audited as of T0 + 1 d (after the correction), the shelf that was right then is
called stale and the one that was wrong then `match`: the audit prices the past with
today's product."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx
from sqlalchemy import Engine

from esl.api.app import create_app
from esl.audit.classify import AuditClass
from esl.imports import import_products
from esl.services.keys import Role, create_key
from esl.settings import Settings
from tests.audit.world import T0, AuditWorld
from tests.support.api import AppSwitch

HEADER = (
    "sku,name,brand,gtin,category,vat_rate,net_content,net_unit,perishable,on_sale_since,web_url\n"
)
MILK = "MLK-1,Mleko 3.2% 1 l,Łaciate,5900820000011,dairy,5,{content},l,yes,2025-01-01T00:00:00Z,\n"


def milk(world: AuditWorld, content: str, *, now) -> None:  # type: ignore[no-untyped-def]
    with world.sessions.begin() as session:
        import_products(
            session, HEADER + MILK.format(content=content), currency="PLN", imported_by="t", now=now
        )


def test_a_past_audit_judges_the_unit_price_due_then(world: AuditWorld) -> None:
    bound = T0 - timedelta(days=1)
    world.label("L-took", store="S02", sku="MLK-1", at=bound)
    world.label("L-missed", store="S02", sku="MLK-1", at=bound)
    world.acknowledged("L-took", at=bound)  # 1 l: 3.49, no unit price beside it
    world.acknowledged("L-missed", at=bound)
    milk(world, "0.9", now=T0)  # 3.88 per litre due from T0
    _, took = world.acknowledged("L-took", at=T0 + timedelta(minutes=1))
    assert took.unit_price is not None  # 3.88 per litre on the shelf
    world.checked_in("L-missed", at=T0 + timedelta(minutes=5))  # still the 1 l label
    world.checked_in("L-took", at=T0 + timedelta(days=1) - timedelta(minutes=5))
    world.checked_in("L-missed", at=T0 + timedelta(days=1) - timedelta(minutes=5))
    milk(world, "1", now=T0 + timedelta(days=2))  # put right

    then = T0 + timedelta(days=1)
    report = world.audit(at=then, now=T0 + timedelta(days=2, hours=1)).report
    found = {v.label_id: v for v in report.labels}
    assert (found["L-took"].audit_class, found["L-missed"].audit_class) == (
        AuditClass.MATCH,
        AuditClass.STALE,
    ), (found["L-took"].reason, found["L-missed"].reason)


CATEGORY = "MLK-1,Mleko 3.2% 1 l,Łaciate,5900820000011,{category},5,1,l,yes,2025-01-01T00:00:00Z,\n"


def _dairy_days(world: AuditWorld) -> None:
    """Dairy -10 % in stores from T0 - 1 d to T0 + 10 d; L-missed shows 3.49 from before
    it, L-promo its 3.14; both check in shortly before T0 + 1 d."""
    start = T0 - timedelta(days=1)
    world.label("L-promo", store="S02", sku="MLK-1", at=start)
    world.label("L-missed", store="S02", sku="MLK-1", at=start)
    world.acknowledged("L-missed", at=start)
    world.publish(
        [
            {
                "action": "upsert_promotion",
                "promotion_id": "P-DAIRY",
                "name": "Dairy days",
                "kind": "percent_off",
                "percent": "10",
                "categories": ["dairy"],
                "channels": ["store"],
                "valid_from": start.isoformat(),
                "valid_until": (T0 + timedelta(days=10)).isoformat(),
            }
        ],
        now=start,
    )
    _, shown = world.acknowledged("L-promo", at=start + timedelta(minutes=1))
    assert str(shown.price) == "3.14"
    for label_id in ("L-promo", "L-missed"):
        world.checked_in(label_id, at=T0 + timedelta(days=1) - timedelta(minutes=5))


def test_a_past_quote_and_audit_over_the_api_price_the_category_then(
    world: AuditWorld, engine: Engine, tmp_path: Path, http_server: tuple[AppSwitch, str]
) -> None:
    """MLK-1 moved out of dairy by PUT /api/v1/products/MLK-1 at T0 + 2 d: GET
    /api/v1/quote?at= and GET /api/v1/audit?at= of T0 + 1 d still price it at the dairy
    promotion's 3.14, and today's quote at 3.49."""
    _dairy_days(world)
    clock = [T0 + timedelta(days=2)]
    switch, url = http_server
    switch.app = create_app(Settings(data_dir=tmp_path), engine=engine, clock=lambda: clock[0])
    with world.sessions.begin() as session:
        _, admin = create_key(session, name="admin", role=Role.ADMIN, store=None, now=T0)
    headers = {"X-API-Key": admin}
    then = (T0 + timedelta(days=1)).isoformat().replace("+00:00", "Z")
    try:
        with httpx.Client(base_url=url, timeout=30) as client:
            moved = client.put(
                "/api/v1/products/MLK-1",
                json={
                    "name": "Mleko 3.2% 1 l",
                    "brand": "Łaciate",
                    "gtin": "5900820000011",
                    "category": "milk",
                    "vat_rate": "5",
                    "net_content": "1",
                    "net_unit": "l",
                    "perishable": True,
                    "on_sale_since": "2025-01-01T00:00:00Z",
                },
                headers=headers,
            )
            assert moved.status_code == 200, moved.text
            clock[0] = T0 + timedelta(days=2, hours=1)
            params = {"sku": "MLK-1", "store": "S02"}
            past = client.get("/api/v1/quote", params={**params, "at": then}, headers=headers)
            today = client.get("/api/v1/quote", params=params, headers=headers)
            audit = client.get(f"/api/v1/audit?store=S02&at={then}", headers=headers)
    finally:
        switch.app = None
    assert past.status_code == 200, past.text
    assert (past.json()["price"], (past.json()["promotion"] or {}).get("id")) == (
        "3.14",
        "P-DAIRY",
    ), past.json()
    assert (today.json()["price"], today.json()["promotion"]) == ("3.49", None), today.json()
    classes = {i["label_id"]: i["class"] for i in audit.json()["items"]}
    assert (classes["L-promo"], classes["L-missed"]) == ("intended_difference", "stale"), classes


def test_a_past_audit_prices_a_product_in_its_category_then(world: AuditWorld) -> None:
    """Dairy -10 % in stores from T0 - 1 d to T0 + 10 d; MLK-1 was dairy until T0 + 2 d,
    when it moved to category "milk". As of T0 + 1 d its shelf price was 3.14 (the ledger
    says so too); L-promo showed it, L-missed (out of reach) kept 3.49."""
    _dairy_days(world)
    then = T0 + timedelta(days=1)
    live = {v.label_id: v.audit_class for v in world.audit(at=then).report.labels}
    assert (live["L-promo"], live["L-missed"]) == (AuditClass.INTENDED_DIFFERENCE, AuditClass.STALE)
    with world.sessions.begin() as session:
        import_products(
            session,
            HEADER + CATEGORY.format(category="milk"),
            currency="PLN",
            imported_by="t",
            now=T0 + timedelta(days=2),
        )
    report = world.audit(at=then, now=T0 + timedelta(days=2, hours=1)).report
    found = {v.label_id: v for v in report.labels}
    summary = {
        label_id: (v.audit_class.value, str(v.shown_price), str(v.due_price), v.reason)
        for label_id, v in found.items()
        if label_id in ("L-promo", "L-missed")
    }
    # The same instant audited later says what the live audit said then.
    assert found["L-missed"].audit_class is AuditClass.STALE, summary
    assert found["L-promo"].audit_class is AuditClass.INTENDED_DIFFERENCE, summary
