"""A label that shows the due amount but another label (a pack size changed its unit
price, a promotion ended and another began at its price with a later last day) is wrong
since the due label changed, not since the amount started. docs/audit.md: "if not, why
and since when"; `wrong_since`: "when the shelf stopped showing the due price";
`--fail-after` counts a label that "has shown another price than the due one for
longer"."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from esl.audit.classify import AuditClass
from esl.imports import import_products
from esl.imports.stores import import_stores
from tests.audit.world import T0, AuditWorld

SMALLER_PACK = """\
sku,name,brand,gtin,category,vat_rate,net_content,net_unit,perishable,on_sale_since,web_url
MLK-1,Mleko 3.2% 1 l,Łaciate,5900820000011,dairy,5,0.9,l,yes,2025-01-01T00:00:00Z,
"""


def test_unit_price_changed_a_minute_ago_is_not_wrong_for_days(world: AuditWorld) -> None:
    world.label("L-milk", store="S02", sku="MLK-1", at=T0)
    world.acknowledged("L-milk", at=T0)  # 3.49, 3.49 per litre
    changed = T0 + timedelta(days=3)
    with world.sessions.begin() as session:
        import_products(session, SMALLER_PACK, currency="PLN", imported_by="test", now=changed)
    world.checked_in("L-milk", at=changed + timedelta(seconds=30))
    at = changed + timedelta(minutes=1)
    report = world.audit(at=at).report
    verdict = {v.label_id: v for v in report.labels}["L-milk"]
    assert verdict.audit_class is AuditClass.STALE, verdict
    assert "unit price" in verdict.reason, verdict.reason
    # Right until the pack changed a minute ago: not wrong for three days.
    assert verdict.wrong_since is not None
    assert verdict.wrong_since >= changed, (verdict.wrong_since, verdict.reason)
    assert report.overdue(timedelta(minutes=30)) == []


def test_promotion_extended_a_minute_ago_is_not_wrong_for_days(world: AuditWorld) -> None:
    """Coffee -20 % until T0 + 7 d ("Coffee week"), bound and shown since T0 - 10 d. At
    T0 + 5 d the chain extends the deal: P-CFE ends and P-CFE2 (-20 %, until T0 + 14 d)
    starts at once, same price 47.99, another last day on the label."""
    start = T0 - timedelta(days=10)
    world.label("L-cfe", store="S02", sku="CFE-1", at=start)
    world.publish(
        [
            {
                "action": "upsert_promotion",
                "promotion_id": "P-CFE",
                "name": "Coffee week",
                "kind": "percent_off",
                "percent": "20",
                "skus": ["CFE-1"],
                "channels": ["store"],
                "valid_from": start.isoformat(),
                "valid_until": (T0 + timedelta(days=7)).isoformat(),
            }
        ],
        now=start,
    )
    world.acknowledged("L-cfe", at=start)
    changed = T0 + timedelta(days=5)
    world.publish(
        [
            {"action": "end_promotion", "promotion_id": "P-CFE"},
            {
                "action": "upsert_promotion",
                "promotion_id": "P-CFE2",
                "name": "Coffee week",
                "kind": "percent_off",
                "percent": "20",
                "skus": ["CFE-1"],
                "channels": ["store"],
                "valid_from": changed.isoformat(),
                "valid_until": (T0 + timedelta(days=14)).isoformat(),
            },
        ],
        now=changed,
    )
    world.checked_in("L-cfe", at=changed + timedelta(seconds=30))
    at = changed + timedelta(minutes=1)
    report = world.audit(at=at).report
    verdict = {v.label_id: v for v in report.labels}["L-cfe"]
    assert verdict.audit_class is AuditClass.STALE, verdict
    assert verdict.shown_price == verdict.due_price, verdict
    assert verdict.wrong_since is not None
    assert verdict.wrong_since >= changed, (verdict.wrong_since, verdict.reason)
    assert report.overdue(timedelta(minutes=30)) == []


RENAMED = """\
sku,name,brand,gtin,category,vat_rate,net_content,net_unit,perishable,on_sale_since,web_url
MLK-1,Mleko 3.2% 1 l UHT,Łaciate,5900820000011,dairy,5,1,l,yes,2025-01-01T00:00:00Z,
"""


def test_a_label_at_another_amount_is_still_wrong_since_the_amount_began(
    world: AuditWorld,
) -> None:
    """L-milk kept 3.49 when 2.99 became due a day later; the product renamed two days
    after that does not make it wrong only since the rename."""
    world.label("L-milk", store="S02", sku="MLK-1", at=T0)
    world.acknowledged("L-milk", at=T0)  # 3.49
    reduced = T0 + timedelta(days=1)
    world.publish([{"action": "set_price", "sku": "MLK-1", "amount": "2.99"}], now=reduced)
    with world.sessions.begin() as session:
        import_products(
            session, RENAMED, currency="PLN", imported_by="test", now=reduced + timedelta(days=2)
        )
    at = reduced + timedelta(days=3)
    world.checked_in("L-milk", at=at - timedelta(minutes=1))
    verdict = {v.label_id: v for v in world.audit(at=at).report.labels}["L-milk"]
    assert (verdict.audit_class, str(verdict.shown_price), verdict.wrong_since) == (
        AuditClass.STALE,
        "3.49",
        reduced,
    ), verdict.reason


def test_a_store_given_another_time_zone_dates_the_last_day_from_then(
    world: AuditWorld,
) -> None:
    """A promotion ends at 00:30 in Warsaw, 23:30 the day before in Lisbon. S01's label
    printed the Warsaw day, right until S01 was given Lisbon's zone at T1: wrong since T1,
    not since the promotion began."""
    ends = T0.replace(hour=23, minute=30) + timedelta(days=3)
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
    world.label("L-milk", store="S01", sku="MLK-1", at=T0)
    world.acknowledged("L-milk", at=T0)
    t1 = T0 + timedelta(hours=1)
    with world.sessions.begin() as session:
        import_stores(
            session,
            "code,name,zone,time_zone\nS01,Gdańsk Oliwa,north,Europe/Lisbon\n",
            imported_by="test",
            now=t1,
            currency="PLN",
        )
    at = t1 + timedelta(minutes=10)
    world.checked_in("L-milk", at=at - timedelta(minutes=1))
    report = world.audit(at=at).report
    verdict = {v.label_id: v for v in report.labels}["L-milk"]
    assert (verdict.audit_class, verdict.wrong_since) == (AuditClass.STALE, t1), verdict.reason
    assert report.overdue(timedelta(minutes=30)) == []


def test_a_store_given_an_opening_does_not_date_a_last_day_printed_wrong_from_the_start(
    world: AuditWorld,
) -> None:
    """S01's label has printed a day after the promotion's last day since its image; an
    opening given S01 at T1 is a store version (migration 0049), but draws no last day:
    the label is still wrong since it was bound (the promotion's price began before), and
    overdue. It read as wrong since T1, and was not overdue for another 30 minutes."""
    ends = T0.replace(hour=23, minute=30) + timedelta(days=3)
    began = T0 - timedelta(days=1)
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
        now=began,
    )
    world.label("L-milk", store="S01", sku="MLK-1", at=T0)
    world.acknowledged(
        "L-milk",
        at=T0,
        altered=lambda c: dataclasses.replace(
            c, valid_until=c.valid_until + timedelta(days=1) if c.valid_until else None
        ),
    )
    t1 = T0 + timedelta(hours=1)
    opened = (T0 - timedelta(days=100)).isoformat()
    with world.sessions.begin() as session:
        import_stores(
            session,
            f"code,name,zone,opened\nS01,Gdańsk Oliwa,north,{opened}\n",
            imported_by="test",
            now=t1,
            currency="PLN",
        )
    at = t1 + timedelta(minutes=10)
    world.checked_in("L-milk", at=at - timedelta(minutes=1))
    report = world.audit(at=at).report
    verdict = {v.label_id: v for v in report.labels}["L-milk"]
    assert (verdict.audit_class, verdict.wrong_since) == (AuditClass.STALE, T0), verdict.reason
    assert [v.label_id for v in report.overdue(timedelta(minutes=30))] == ["L-milk"]
