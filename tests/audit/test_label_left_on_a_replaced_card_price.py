"""A card price replaced by another (the first ended, a second started, as the publication
rules ask). A label left on the first card price is stale, rightly, and its prior-price
line (the lowest card holders paid before the card price its badge states) is checked
against that card price: the run of it charged when the label's price was resolved, not
the card price due now, nor a later run of the same card amount."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

from esl.audit.classify import AuditClass
from rendering.content import LabelContent
from tests.audit.world import T0, AuditWorld

AT = T0 + timedelta(hours=2)
CARD = {
    "action": "upsert_promotion",
    "promotion_id": "CARD-CHS",
    "name": "Ser z karta",
    "kind": "loyalty_price",
    "amount": "7.99",
    "skus": ["CHS-1"],
    "channels": ["store"],
    "valid_from": (T0 - timedelta(days=1)).isoformat(),
}


def _card_price_replaced_an_hour_on(world: AuditWorld) -> None:
    """At T0 + 1 h the 7.99 card price ends and a 7.49 one (CARD-CHS-2) starts."""
    world.publish(
        [
            {"action": "end_promotion", "promotion_id": "CARD-CHS"},
            {
                **CARD,
                "promotion_id": "CARD-CHS-2",
                "amount": "7.49",
                "valid_from": (T0 + timedelta(hours=1)).isoformat(),
            },
        ],
        now=T0 + timedelta(hours=1),
    )


def test_a_label_left_on_the_old_card_amount_is_checked_against_its_own_card_price(
    world: AuditWorld,
) -> None:
    # Cheese 8.99 for 60 days; card 7.99 from T0 - 1 d; the card amount lowered to 7.49
    # (a new card promotion) at T0 + 1 h. The label still shows the 7.99 card price with 8.99,
    # the lowest card holders paid in the 30 days before 7.99 began: lawful for it.
    world.publish([CARD], now=T0 - timedelta(days=1) + timedelta(minutes=1))
    world.label("L-card-old", store="S01", sku="CHS-1")
    _, content = world.acknowledged("L-card-old", at=T0)
    assert content.promotion_text == "Z kartą 7,99\xa0zł"
    assert content.prior_price == Decimal("8.99")
    _card_price_replaced_an_hour_on(world)
    world.checked_in("L-card-old", at=AT - timedelta(minutes=1))
    report = world.audit(at=AT).report
    verdict = next(v for v in report.labels if v.label_id == "L-card-old")
    assert verdict.audit_class is AuditClass.STALE, verdict.reason
    # The label prints the lawful prior price of the card price it shows: no problem.
    assert report.prior_price_problems == (), report.prior_price_problems


def test_a_wrong_prior_line_on_the_old_card_amount_is_reported(world: AuditWorld) -> None:
    # The same, but the label left on the 7.99 card price prints 7.99 as its prior price
    # (card holders paid 8.99 before it: wrong). 7.99 happens to be the prior price of
    # the 7.49 card price now running, so the audit, checking against that one, lets
    # the wrong line pass.
    world.publish([CARD], now=T0 - timedelta(days=1) + timedelta(minutes=1))
    world.label("L-card-wrong", store="S01", sku="CHS-1")
    world.acknowledged(
        "L-card-wrong",
        at=T0,
        altered=lambda c: dataclasses.replace(c, prior_price=Decimal("7.99")),
    )
    _card_price_replaced_an_hour_on(world)
    world.checked_in("L-card-wrong", at=AT - timedelta(minutes=1))
    report = world.audit(at=AT).report
    assert [(p.label_id, p.shown_prior, p.expected_prior) for p in report.prior_price_problems] == [
        ("L-card-wrong", Decimal("7.99"), Decimal("8.99"))
    ]


def _printing(prior: Decimal) -> Callable[[LabelContent], LabelContent]:
    """The due content, drawn with `prior` as its prior price."""
    return lambda content: dataclasses.replace(content, prior_price=prior)


def test_a_label_left_on_an_earlier_run_of_the_same_card_amount_is_checked_against_that_run(
    world: AuditWorld,
) -> None:
    # The 7.99 card price ends at T0 + 1 h and a new one of the same 7.99 starts at
    # T0 + 2 h: card holders paid 8.99 in the 30 days before the first, 7.99 before the
    # second. Three labels still show the first (its badge reads as the second's): with
    # 8.99, lawful for it; with 8.49, wrong for it; with 7.99, wrong for it but drawing
    # just what the second's label draws, so what it shows is lawful now.
    world.publish([CARD], now=T0 - timedelta(days=1) + timedelta(minutes=1))
    printed = {
        "L-card-first": None,
        "L-card-first-wrong": Decimal("8.49"),
        "L-card-first-as-due": Decimal("7.99"),
    }
    for label_id, prior in printed.items():
        world.label(label_id, store="S01", sku="CHS-1")
        world.acknowledged(label_id, at=T0, altered=None if prior is None else _printing(prior))
    world.publish(
        [{"action": "end_promotion", "promotion_id": "CARD-CHS"}], now=T0 + timedelta(hours=1)
    )
    world.publish(
        [
            {
                **CARD,
                "promotion_id": "CARD-CHS-2",
                "valid_from": (T0 + timedelta(hours=2)).isoformat(),
            }
        ],
        now=T0 + timedelta(hours=2),
    )
    at = T0 + timedelta(hours=3)
    for label_id in printed:
        world.checked_in(label_id, at=at - timedelta(minutes=1))
    report = world.audit(at=at).report
    classes = {v.label_id: v.audit_class for v in report.labels if v.label_id.startswith("L-")}
    assert classes["L-card-first"] is AuditClass.STALE
    assert classes["L-card-first-wrong"] is AuditClass.STALE
    assert classes["L-card-first-as-due"] is not AuditClass.STALE
    assert [(p.label_id, p.shown_prior, p.expected_prior) for p in report.prior_price_problems] == [
        ("L-card-first-wrong", Decimal("8.49"), Decimal("8.99"))
    ]
