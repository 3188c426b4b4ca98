"""A label left on a reduction that ended because the list price came down to the same
amount: it still announces the reduction it was planned for, with that reduction's
lawful prior price. The audit checks it against that reduction's prior price
(docs/audit.md, "a label left on an ended reduction ... its prior price is still
checked against that reduction's"), not against a reduction that never happened."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from tests.audit.scenario import coffee_week
from tests.audit.world import T0, AuditWorld


def test_a_label_left_on_a_reduction_whose_price_became_the_list_price(
    world: AuditWorld,
) -> None:
    # Coffee 59.99 for 60 days, "-20%" (47.99) in stores from T0 - 10 d.
    coffee_week(world, now=T0 - timedelta(days=10))
    world.label("L-left", store="S02", sku="CFE-1", at=T0 - timedelta(days=10))
    _, content = world.acknowledged("L-left", at=T0 - timedelta(days=10))
    assert (content.price, content.prior_price) == (Decimal("47.99"), Decimal("59.99"))
    # Two days ago the promotion ended and 47.99 became the list price.
    world.publish(
        [
            {"action": "end_promotion", "promotion_id": "P-CFE"},
            {"action": "set_price", "sku": "CFE-1", "amount": "47.99"},
        ],
        now=T0 - timedelta(days=2),
    )
    world.checked_in("L-left", at=T0 - timedelta(minutes=1))
    report = world.audit(at=T0).report
    # 59.99 was the lowest price of the 30 days before the reduction the label shows.
    assert [
        (p.label_id, p.shown_prior, p.expected_prior) for p in report.prior_price_problems
    ] == []
