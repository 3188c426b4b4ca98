"""A perishable product's evening markdown, repeated (a regression of 998ed13, mended).

Bread at 4.00 every day; last week's short-dated stock went to 2.00 one evening (18:00
until closing), and back to 4.00 the next morning. Tonight's short-dated stock goes to
2.00 again. Tonight's reduction is the first of its run: the price before it is 4.00,
which the shop charged all day, and PL art. 4 ust. 4 lets a perishable product's label
give "Cena sprzed pierwszej obniżki: 4,00 zł" (-50 %). That is what the option exists
for. Since 998ed13 the engine refuses it because a lower price (last week's evening
markdown, an earlier run) was charged in the 30 days before the run, and the label shows
2.00 as the 30-day low: nothing announced at all.
"""

from __future__ import annotations

from decimal import Decimal

from pricing import PriceRule, PriorPriceBasis
from tests.pricing.test_omnibus import DAY0, day, fixed, label_on, perishable_product
from tests.strategies import pln


def test_tonights_markdown_of_a_perishable_is_announced_against_the_price_before_it() -> None:
    rules = [PriceRule(id="bread", sku="A", amount=pln(400))]
    promotions = [
        # last week's evening markdown, 18:00 until 06:00 the next morning
        fixed("evening-7", 200, -7 + 0.75, -6 + 0.25),
        # tonight's
        fixed("evening-0", 200, 0.75, 1.25),
    ]
    label, _ = label_on(
        rules=rules, promotions=promotions, product=perishable_product(), at=day(0.75)
    )
    assert label.at > DAY0
    assert label.price == pln(200)
    assert (label.prior_price, label.prior_price_basis) == (
        pln(400),
        PriorPriceBasis.BEFORE_FIRST_REDUCTION,
    )
    assert label.announces_reduction
    assert (label.saving, label.saving_percent) == (pln(200), Decimal(50))
