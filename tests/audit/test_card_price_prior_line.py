"""A loyalty-card badge ("Z kartą 2,99 zł") is a price reduction for the card's members
(UOKiK on art. 4 of the PL act of 9 May 2014): its label prints the lowest price card
holders paid in the 30 days before it, and the audit checks that line as it checks an
announced reduction's. A card label without the line, or with another prior price, is
not `match`."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from decimal import Decimal

from esl.audit.classify import AuditClass, LabelVerdict
from pricing import ResolvedPrice
from pricing.resolved import label_fingerprint
from tests.audit.world import T0, AuditWorld

# Milk 3.49 for everybody since T0 - 60 d (tests/audit/world.py); with the card 2.99 from
# T0 - 1 d: card holders paid 3.49 before it (milk is perishable: the price before the
# first reduction, "Cena sprzed pierwszej obniżki", stands for the 30-day low).
AT = T0 + timedelta(hours=2)
CARD = {
    "action": "upsert_promotion",
    "promotion_id": "CARD-MLK",
    "name": "Mleko z kartą",
    "kind": "loyalty_price",
    "amount": "2.99",
    "skus": ["MLK-1"],
    "channels": ["store", "web"],
    "valid_from": (T0 - timedelta(days=1)).isoformat(),
}


def _card_world(world: AuditWorld, card: dict[str, object] = CARD) -> None:
    # Published as it starts: the ledger records what card holders pay from then on.
    world.publish([card], now=T0 - timedelta(days=1) + timedelta(minutes=1))


def _verdict(world: AuditWorld, label_id: str) -> LabelVerdict:
    report = world.audit(at=AT).report
    return next(v for v in report.labels if v.label_id == label_id)


def _without_prior(price: ResolvedPrice) -> ResolvedPrice:
    """The card price as the engine priced it before it had a prior price."""
    earlier = dataclasses.replace(price, prior_price=None, prior_price_basis=None)
    return dataclasses.replace(earlier, fingerprint=label_fingerprint(earlier))


def test_an_engine_built_card_label_prints_the_prior_price_and_matches(
    world: AuditWorld,
) -> None:
    _card_world(world)
    world.label("L-card", store="S01", sku="MLK-1")
    _, content = world.acknowledged("L-card", at=T0)
    world.checked_in("L-card", at=AT - timedelta(minutes=1))
    assert content.promotion_text == "Z kartą 2,99\xa0zł"
    assert content.prior_price == Decimal("3.49")
    assert content.shows_prior_price
    assert not content.announces_reduction
    gathered = world.audit(at=AT)
    verdict = next(v for v in gathered.report.labels if v.label_id == "L-card")
    assert verdict.audit_class is AuditClass.MATCH, verdict.reason
    assert gathered.report.prior_price_problems == ()


def test_a_card_label_drawn_without_the_prior_line_is_stale(world: AuditWorld) -> None:
    # Planned before card prices had a prior price: the badge alone, beside 3,49 zł.
    _card_world(world)
    world.label("L-card-bare", store="S01", sku="MLK-1")
    world.acknowledged(
        "L-card-bare",
        at=T0,
        altered=lambda c: dataclasses.replace(c, prior_price=None),
        priced=_without_prior,
    )
    world.checked_in("L-card-bare", at=AT - timedelta(minutes=1))
    verdict = _verdict(world, "L-card-bare")
    assert verdict.audit_class is AuditClass.STALE, verdict.reason
    assert "no prior price (3.49 before_first_reduction due)" in verdict.reason, verdict.reason


def test_a_card_label_with_another_prior_price_is_stale_and_reported(world: AuditWorld) -> None:
    # Priced with a prior price the ledger never gave (2.99: what card holders pay now).
    def other_prior(price: ResolvedPrice) -> ResolvedPrice:
        assert price.prior_price is not None
        other = dataclasses.replace(
            price, prior_price=dataclasses.replace(price.prior_price, amount=Decimal("2.99"))
        )
        return dataclasses.replace(other, fingerprint=label_fingerprint(other))

    _card_world(world)
    world.label("L-card-wrong", store="S01", sku="MLK-1")
    world.acknowledged(
        "L-card-wrong",
        at=T0,
        altered=lambda c: dataclasses.replace(c, prior_price=Decimal("2.99")),
        priced=other_prior,
    )
    world.checked_in("L-card-wrong", at=AT - timedelta(minutes=1))
    report = world.audit(at=AT).report
    verdict = next(v for v in report.labels if v.label_id == "L-card-wrong")
    assert verdict.audit_class is AuditClass.STALE, verdict.reason
    assert "prior price 2.99 before_first_reduction (due 3.49 before_first_reduction)" in (
        verdict.reason
    ), verdict.reason
    (problem,) = report.prior_price_problems
    assert (problem.label_id, problem.shown_prior, problem.expected_prior) == (
        "L-card-wrong",
        Decimal("2.99"),
        Decimal("3.49"),
    )


def test_a_card_labels_prior_line_is_checked_against_the_card_holders_ledger(
    world: AuditWorld,
) -> None:
    # The content names the due price, but its prior-price line was drawn otherwise: the
    # prior-price check catches it, as it catches an announced reduction's.
    _card_world(world)
    world.label("L-card-line", store="S02", sku="MLK-1")
    world.acknowledged(
        "L-card-line",
        at=T0,
        altered=lambda c: dataclasses.replace(c, prior_price=Decimal("3.19")),
    )
    world.checked_in("L-card-line", at=AT - timedelta(minutes=1))
    report = world.audit(at=AT).report
    assert [(p.label_id, p.shown_prior, p.expected_prior) for p in report.prior_price_problems] == [
        ("L-card-line", Decimal("3.19"), Decimal("3.49"))
    ]


def test_a_label_left_on_an_ended_card_price_is_checked_against_that_card_price(
    world: AuditWorld,
) -> None:
    # The card price ran from T0 - 1 d to T0 + 1 h; at T0 + 2 h two labels still show it,
    # one with the prior price card holders paid before it, one with another.
    _card_world(world, {**CARD, "valid_until": (T0 + timedelta(hours=1)).isoformat()})
    for label_id in ("L-card-ended", "L-card-ended-wrong"):
        world.label(label_id, store="S03", sku="MLK-1")
    world.acknowledged("L-card-ended", at=T0)
    world.acknowledged(
        "L-card-ended-wrong",
        at=T0,
        altered=lambda c: dataclasses.replace(c, prior_price=Decimal("3.19")),
    )
    for label_id in ("L-card-ended", "L-card-ended-wrong"):
        world.checked_in(label_id, at=AT - timedelta(minutes=1))
    report = world.audit(at=AT).report
    classes = {v.label_id: v.audit_class for v in report.labels if v.label_id.startswith("L-")}
    assert classes == {"L-card-ended": AuditClass.STALE, "L-card-ended-wrong": AuditClass.STALE}
    assert [(p.label_id, p.shown_prior, p.expected_prior) for p in report.prior_price_problems] == [
        ("L-card-ended-wrong", Decimal("3.19"), Decimal("3.49"))
    ]
