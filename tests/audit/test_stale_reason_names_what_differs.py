"""A stale label showing the due amount drawn as another label is given a reason that
names the difference, not one that reads as a right shelf ("shows 47.99 PLN, due 47.99").

docs/audit.md, class 6 `stale`: "it shows another price than the one due ... facts: shown
/ due price"; an auditor must see *why* each difference exists. Coffee was -20 % (59.99 ->
47.99) in stores; the promotion ended and 47.99 became the list price. The label still
announces "-20 %" with a struck-through 59.99 (a reduction that no longer exists, which
docs/pricing.md forbids announcing). The audit rightly called it `stale`, but its reason
said the shelf shows the due price and never named the ended promotion's announcement.
Found by a reviewer (moved from /tmp/rev-audit).
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from esl.audit.classify import AuditClass
from tests.audit.scenario import coffee_week
from tests.audit.world import T0, AuditWorld


def test_a_label_left_on_an_ended_reduction_says_what_differs(world: AuditWorld) -> None:
    coffee_week(world, now=T0 - timedelta(days=10))
    world.label("L-left", store="S02", sku="CFE-1", at=T0 - timedelta(days=10))
    _, content = world.acknowledged("L-left", at=T0 - timedelta(days=10))
    assert content.promotion_text is not None  # it announces the reduction
    world.publish(
        [
            {"action": "end_promotion", "promotion_id": "P-CFE"},
            {"action": "set_price", "sku": "CFE-1", "amount": "47.99"},
        ],
        now=T0 - timedelta(days=2),
    )
    world.checked_in("L-left", at=T0 - timedelta(minutes=1))
    verdict = {v.label_id: v for v in world.audit(at=T0).report.labels}["L-left"]
    assert verdict.audit_class is AuditClass.STALE
    assert (verdict.shown_price, verdict.due_price) == (Decimal("47.99"), Decimal("47.99"))
    # The reason must not read as if the shelf showed what is due: it names the ended
    # promotion's badge, its struck-through price and its prior-price line.
    assert not verdict.reason.startswith("shows 47.99 PLN, due 47.99"), verdict.reason
    assert verdict.reason == (
        f"shows 47.99 PLN, the due price, but with promotion P-CFE {content.promotion_text!r}"
        " (none due), struck-through price 59.99 (none due), prior price 59.99 (none due)"
        "; no update planned"
    )


def test_a_label_without_the_due_offer_says_so(world: AuditWorld) -> None:
    """The other way round: 47.99 was the list price when the label was drawn; then a
    "2 for 90" offer started, which leaves the shelf price alone but draws its badge, so
    the due label carries the offer, which this one lacks."""
    world.publish([{"action": "set_price", "sku": "CFE-1", "amount": "47.99"}], now=T0)
    world.label("L-plain", store="S02", sku="CFE-1", at=T0)
    world.acknowledged("L-plain", at=T0)
    later = T0 + timedelta(days=3)
    world.publish(
        [
            {
                "action": "upsert_promotion",
                "promotion_id": "P-TWO",
                "name": "Two for 90",
                "kind": "multi_buy",
                "quantity": 2,
                "amount": "90.00",
                "skus": ["CFE-1"],
                "channels": ["store"],
                "valid_from": later.isoformat(),
            }
        ],
        now=later,
    )
    world.checked_in("L-plain", at=later + timedelta(minutes=10))
    verdict = {v.label_id: v for v in world.audit(at=later + timedelta(minutes=11)).report.labels}[
        "L-plain"
    ]
    assert verdict.audit_class is AuditClass.STALE
    assert (verdict.shown_price, verdict.due_price) == (Decimal("47.99"), Decimal("47.99"))
    assert verdict.reason.startswith(
        "shows 47.99 PLN, the due price, but with no promotion (P-TWO '2 za 90\\xa0zł' due)"
    ), verdict.reason


def test_a_label_of_a_reduction_not_announced_shows_the_due_price(world: AuditWorld) -> None:
    """47.99 was the list price when the label was drawn; then the list price went back
    to 59.99 with a -20 % promotion, which may not be announced (it saves nothing against
    the 30-day low of 47.99): the due label is a plain 47.99, this label's very pixels,
    though the promotion and its (undrawn) prior price are due (docs/audit.md)."""
    world.publish([{"action": "set_price", "sku": "CFE-1", "amount": "47.99"}], now=T0)
    world.label("L-plain", store="S02", sku="CFE-1", at=T0)
    shown, _ = world.acknowledged("L-plain", at=T0)
    later = T0 + timedelta(days=3)
    world.publish([{"action": "set_price", "sku": "CFE-1", "amount": "59.99"}], now=later)
    coffee_week(world, now=later + timedelta(minutes=1))
    with world.sessions() as session:
        due_hash, due_content, _ = world.planned_content(
            session, "L-plain", at=later + timedelta(minutes=2)
        )
    assert due_content.promotion_kind == "percent_off"
    assert not due_content.announces_reduction
    assert due_hash == shown  # the same pixels
    world.checked_in("L-plain", at=later + timedelta(minutes=10))
    report = world.audit(at=later + timedelta(minutes=11)).report
    verdict = {v.label_id: v for v in report.labels}["L-plain"]
    assert verdict.shows_due, verdict.reason
    assert verdict.audit_class is AuditClass.INTENDED_DIFFERENCE, verdict.reason
    assert report.prior_price_problems == ()
