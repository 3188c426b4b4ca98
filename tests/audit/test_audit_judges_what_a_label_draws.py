"""A reduction that may not be announced is drawn as a plain price: no badge, nothing
struck through, no prior-price line (docs/pricing.md, "A reduction is announced with its
prior price, or not at all"). Its panel's pixels are then those of any plain label at the
same price, and the audit must judge the label by what it draws:

- docs/audit.md, Prior-price check: only a label whose shown content *announces* a
  reduction must print the prior price; a label printing none cannot print a wrong one;
- docs/audit.md, What a label shows: where price fingerprints differ, a label shows the
  due price "when the recorded content draws exactly the label of the price due"; the
  fingerprint "also covers what no label draws".

The default small and medium templates draw no store name, so such labels in two stores
share one image and one `label_contents` row, recorded for whichever was planned first.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from tests.audit.scenario import coffee_week
from tests.audit.world import T0, AuditWorld

AUDIT = T0 + timedelta(minutes=10)


def _store_coffee(world: AuditWorld, amounts: dict[str, str]) -> None:
    """Each store sold the coffee at its own amount from T0 - 21 d to T0 - 11 d, then at
    the national 59.99 again."""
    for days_before, back in ((21, False), (11, True)):
        world.publish(
            [
                {
                    "action": "set_price",
                    "sku": "CFE-1",
                    "amount": "59.99" if back else amount,
                    "store": store,
                    "channel": "store",
                }
                for store, amount in amounts.items()
            ],
            now=T0 - timedelta(days=days_before),
        )


def _verdicts(report):  # type: ignore[no-untyped-def]
    return {v.label_id: (v.audit_class.value, v.shows_due, v.reason) for v in report.labels}


def test_two_stores_not_announcing_one_reduction_show_their_due_price(
    world: AuditWorld,
) -> None:
    # Coffee 59.99 nationally. S01 sold it at 45.00 and S02 at 46.00 three weeks ago, so
    # "coffee week" (-20 %, 47.99) from T0 - 1 d saves nothing against either store's
    # 30-day low: neither label may announce it, both show a plain 47.99.
    _store_coffee(world, {"S01": "45.00", "S02": "46.00"})
    coffee_week(world, now=T0 - timedelta(days=1))
    world.label("L-s01", store="S01", sku="CFE-1")
    world.label("L-s02", store="S02", sku="CFE-1")
    digest_1, content_1 = world.acknowledged("L-s01", at=T0)
    digest_2, content_2 = world.acknowledged("L-s02", at=T0)
    for content in (content_1, content_2):
        assert content.price == Decimal("47.99")
        assert not content.announces_reduction  # plain price: nothing about a reduction
    # The engine's (undrawn) prior prices differ; the panels' pixels do not.
    assert (content_1.prior_price, content_2.prior_price) == (Decimal("45.00"), Decimal("46.00"))
    assert digest_1 == digest_2

    report = world.audit(at=AUDIT).report

    verdicts = _verdicts(report)
    assert verdicts["L-s02"][:2] == ("intended_difference", True), verdicts["L-s02"]
    # Neither label prints a prior price, so neither can print a wrong one.
    assert [
        (p.label_id, p.shown_prior, p.expected_prior) for p in report.prior_price_problems
    ] == []


def test_a_plain_label_in_another_store_shows_its_due_price(world: AuditWorld) -> None:
    # S01's coffee week is not announced (its 30-day low 45.00 is below 47.99); S03 sells
    # the same coffee at its own 47.99 with no promotion at all. Both labels draw a plain
    # 47.99; the S03 label has nothing to do with any reduction.
    _store_coffee(world, {"S01": "45.00"})
    coffee_week(world, now=T0 - timedelta(days=1), stores=["S01"])
    world.publish(
        [
            {
                "action": "set_price",
                "sku": "CFE-1",
                "amount": "47.99",
                "store": "S03",
                "channel": "store",
            }
        ],
        now=T0 - timedelta(days=1),
    )
    world.label("L-s01", store="S01", sku="CFE-1")
    world.label("L-s03", store="S03", sku="CFE-1")
    digest_1, content_1 = world.acknowledged("L-s01", at=T0)
    digest_3, content_3 = world.acknowledged("L-s03", at=T0)
    assert not content_1.announces_reduction
    assert content_3.promotion_text is None
    assert content_3.prior_price is None
    assert digest_1 == digest_3

    report = world.audit(at=AUDIT).report

    verdicts = _verdicts(report)
    assert verdicts["L-s03"][:2] == ("intended_difference", True), verdicts["L-s03"]
    assert [
        (p.label_id, p.shown_prior, p.expected_prior) for p in report.prior_price_problems
    ] == []


def test_a_list_price_raised_with_a_promotion_at_the_old_price_leaves_the_label_as_due(
    world: AuditWorld,
) -> None:
    # docs/pricing.md, worked example "List price raised with the promotion": coffee
    # 59.99 for 60 days; from T0 - 1 d its list price is 69.99 with a "promotion" at
    # 59.99. That is no reduction (the 30-day low is 59.99): the label goes on showing a
    # plain 59.99, exactly the image it showed before. One store, one label.
    world.label("L-coffee", store="S02", sku="CFE-1", at=T0 - timedelta(days=2))
    before, plain = world.acknowledged("L-coffee", at=T0 - timedelta(days=2))
    assert plain.promotion_kind is None
    world.publish(
        [
            {"action": "set_price", "sku": "CFE-1", "amount": "69.99"},
            {
                "action": "upsert_promotion",
                "promotion_id": "P-OLD-PRICE",
                "name": "Old price",
                "kind": "fixed_price",
                "amount": "59.99",
                "currency": "PLN",
                "skus": ["CFE-1"],
            },
        ],
        now=T0 - timedelta(days=1),
    )
    # The controller plans the label again: the due content draws the same image.
    after, due = world.acknowledged("L-coffee", at=T0)
    assert due.price == Decimal("59.99")
    assert not due.announces_reduction
    assert after == before

    report = world.audit(at=AUDIT).report

    verdicts = _verdicts(report)
    assert verdicts["L-coffee"][:2] == ("match", True), verdicts["L-coffee"]
    assert report.prior_price_problems == ()


def test_a_label_drawing_another_stores_prior_price_stays_stale(world: AuditWorld) -> None:
    # Guard: where the reduction IS announced, its prior price is drawn. S01 sold the
    # coffee at 50.00 and S02 at 50.20, so coffee week (47.99) is "-4%" against each
    # store's own 30-day low, struck through and printed: two images. The S02 label
    # showing S01's image draws another prior price than its own: stale, and its prior
    # price is a problem.
    _store_coffee(world, {"S01": "50.00", "S02": "50.20"})
    coffee_week(world, now=T0 - timedelta(days=1))
    world.label("L-s01", store="S01", sku="CFE-1")
    world.label("L-s02", store="S02", sku="CFE-1")
    digest_1, content_1 = world.acknowledged("L-s01", at=T0)
    with world.sessions() as session:
        digest_2, content_2, _ = world.planned_content(session, "L-s02", at=T0)
    assert content_1.announces_reduction
    assert content_2.announces_reduction
    assert content_1.promotion_text == content_2.promotion_text  # the same badge
    assert digest_1 != digest_2
    world.checked_in("L-s02", at=T0, displayed_hash=digest_1)

    report = world.audit(at=AUDIT).report

    verdicts = _verdicts(report)
    assert verdicts["L-s01"][:2] == ("intended_difference", True), verdicts["L-s01"]
    assert verdicts["L-s02"][:2] == ("stale", False), verdicts["L-s02"]
    assert "prior price 50.00 (due 50.20)" in verdicts["L-s02"][2], verdicts["L-s02"]
    assert [(p.label_id, p.shown_prior, p.expected_prior) for p in report.prior_price_problems] == [
        ("L-s02", Decimal("50.00"), Decimal("50.20"))
    ]
