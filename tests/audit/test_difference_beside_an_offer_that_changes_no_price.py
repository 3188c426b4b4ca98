"""Review: an `intended_difference` names what makes the shelf and web prices differ
(docs/audit.md, class 7): "A price difference is put down to a promotion only when that
promotion changes the unit price on its side (percent off, amount off, fixed price); a
loyalty-card price or a multi-buy leaves the unit price as it is". When one channel's
winning offer changes its unit price and the other channel's is a conditional offer, the
conditional one is still named as a cause ("... against web promotion M (multi_buy ...)"),
though the single unit costs the regular price there."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from esl.audit.classify import AuditClass, LabelVerdict
from tests.audit.world import T0, AuditWorld

AT = T0 + timedelta(hours=2)


def _promotion(promotion_id: str, channel: str, **terms: object) -> dict[str, object]:
    return {
        "action": "upsert_promotion",
        "promotion_id": promotion_id,
        "name": promotion_id,
        "skus": ["MLK-1"],
        "channels": [channel],
        "valid_from": (T0 - timedelta(days=1)).isoformat(),
        **terms,
    }


def _audited(
    world: AuditWorld, store_offer: dict[str, object], web_offer: dict[str, object]
) -> LabelVerdict:
    world.publish([store_offer], now=T0 - timedelta(days=1))
    world.publish([web_offer], now=T0 - timedelta(days=1) + timedelta(minutes=1))
    world.label("L-milk", store="S01", sku="MLK-1")
    world.acknowledged("L-milk", at=T0)
    world.checked_in("L-milk", at=AT - timedelta(minutes=1))
    return {v.label_id: v for v in world.audit(at=AT).report.labels}["L-milk"]


def test_a_store_card_price_is_not_named_as_why_the_web_sells_cheaper(world: AuditWorld) -> None:
    """Milk 3.49 on the shelf with a store card price "Z kartą 3,19" (the till charges
    3.49 without a card), 10 % off on the web (3.14). Only the web's 10 % makes the 0.35
    difference; the reason named the card offer "against" it."""
    verdict = _audited(
        world,
        _promotion("CARD", "store", kind="loyalty_price", amount="3.19"),
        _promotion("WEB10", "web", kind="percent_off", percent="10"),
    )
    assert verdict.audit_class is AuditClass.INTENDED_DIFFERENCE
    assert (verdict.shown_price, verdict.web_price) == (Decimal("3.49"), Decimal("3.14"))
    assert verdict.rule == "web-only promotion WEB10 (percent_off, 'WEB10')", verdict.rule


def test_a_web_multi_buy_is_not_named_as_why_the_shelf_sells_cheaper(world: AuditWorld) -> None:
    """Milk 10 % off on the shelf (3.14) against the web's 3.49 with a web-only "2 za 6,50"
    (one carton still 3.49 on the web): the store's promotion alone makes the difference."""
    verdict = _audited(
        world,
        _promotion("STORE10", "store", kind="percent_off", percent="10"),
        _promotion("WEB2", "web", kind="multi_buy", quantity=2, amount="6.50"),
    )
    assert verdict.audit_class is AuditClass.INTENDED_DIFFERENCE
    assert (verdict.shown_price, verdict.web_price) == (Decimal("3.14"), Decimal("3.49"))
    assert verdict.rule == "store promotion STORE10 (percent_off, 'STORE10') not on the web", (
        verdict.rule
    )
