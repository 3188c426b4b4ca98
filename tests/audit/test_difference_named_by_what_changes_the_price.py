"""An `intended_difference` names what makes the shelf and web prices differ (docs/audit.md,
class 7). A conditional offer (loyalty card, multi-buy) leaves the single unit's price as
it is (docs/pricing.md), so it is not named as the reason for a price difference: the
web price rule that makes it is."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from esl.audit.classify import AuditClass, LabelVerdict
from tests.audit.world import T0, AuditWorld

AT = T0 + timedelta(hours=2)


def _labelled(world: AuditWorld, label_id: str, store: str, sku: str) -> None:
    world.label(label_id, store=store, sku=sku)
    world.acknowledged(label_id, at=T0)
    world.checked_in(label_id, at=AT - timedelta(minutes=1))


def test_a_card_offer_is_not_named_as_why_the_web_sells_cheaper(world: AuditWorld) -> None:
    """Milk is 3.49 on the shelf and 3.29 on the web because of a web-channel price rule.
    The store also has a loyalty-card offer ("with card 3.19"), which leaves the shelf
    price at 3.49. The audit must explain the 0.20 difference by the web rule, not by the
    card offer, which changes no price at the till."""
    verdict = _web_rule_and_promotion_audited(
        world,
        web_price=("MLK-1", "3.29", T0 - timedelta(days=2)),
        promotion={
            "action": "upsert_promotion",
            "promotion_id": "CARD-MLK",
            "name": "Milk with card",
            "kind": "loyalty_price",
            "amount": "3.19",
            "skus": ["MLK-1"],
            "channels": ["store"],
            "valid_from": (T0 - timedelta(days=1)).isoformat(),
        },
        label=("L-milk", "S01"),
    )
    assert verdict.audit_class is AuditClass.INTENDED_DIFFERENCE
    assert (verdict.shown_price, verdict.web_price) == (Decimal("3.49"), Decimal("3.29"))
    assert verdict.rule is not None
    # The price on the till differs because of the web rule (channel scope).
    assert "channel scope" in verdict.rule, verdict.rule


def test_a_web_multi_buy_is_not_named_as_why_the_web_sells_cheaper(world: AuditWorld) -> None:
    """The same with a web-only multi-buy: the web's single unit is cheaper by a web
    price rule; the "2 for 15" offer does not change it."""
    verdict = _web_rule_and_promotion_audited(
        world,
        web_price=("CHS-1", "8.49", T0 - timedelta(days=2)),
        promotion={
            "action": "upsert_promotion",
            "promotion_id": "WEB-2FOR",
            "name": "Two cheeses",
            "kind": "multi_buy",
            "quantity": 2,
            "amount": "15.00",
            "skus": ["CHS-1"],
            "channels": ["web"],
            "valid_from": (T0 - timedelta(days=1)).isoformat(),
        },
        label=("L-cheese", "S02"),
    )
    assert verdict.audit_class is AuditClass.INTENDED_DIFFERENCE
    assert (verdict.shown_price, verdict.web_price) == (Decimal("8.99"), Decimal("8.49"))
    assert verdict.rule is not None
    assert "channel scope" in verdict.rule, verdict.rule


def test_a_store_reduction_and_a_web_rule_are_both_named(world: AuditWorld) -> None:
    """Milk 3.49 less 10 % in stores (3.14) against 3.29 on the web by a web rule: both
    the reduction and the rules make the difference, and the reason names both."""
    verdict = _web_rule_and_promotion_audited(
        world,
        web_price=("MLK-1", "3.29", T0 - timedelta(days=40)),
        promotion={
            "action": "upsert_promotion",
            "promotion_id": "MLK-10",
            "name": "Milk -10%",
            "kind": "percent_off",
            "percent": "10",
            "skus": ["MLK-1"],
            "channels": ["store"],
            "valid_from": (T0 - timedelta(days=1)).isoformat(),
        },
        label=("L-milk", "S01"),
    )
    assert verdict.audit_class is AuditClass.INTENDED_DIFFERENCE
    assert (verdict.shown_price, verdict.web_price) == (Decimal("3.14"), Decimal("3.29"))
    assert verdict.rule is not None
    assert "store promotion MLK-10 (percent_off, 'Milk -10%') not on the web" in verdict.rule
    assert "channel scope" in verdict.rule, verdict.rule


def _web_rule_and_promotion_audited(
    world: AuditWorld,
    *,
    web_price: tuple[str, str, datetime],
    promotion: dict[str, object],
    label: tuple[str, str],
) -> LabelVerdict:
    """`web_price` (SKU, amount, published at) by a web-channel rule, `promotion` published
    a day before T0, and a label of that SKU in a store: its verdict at AT."""
    sku, amount, published = web_price
    world.publish(
        [{"action": "set_price", "sku": sku, "amount": amount, "channel": "web"}], now=published
    )
    world.publish([promotion], now=T0 - timedelta(days=1))
    label_id, store = label
    _labelled(world, label_id, store, sku)
    return {v.label_id: v for v in world.audit(at=AT).report.labels}[label_id]
