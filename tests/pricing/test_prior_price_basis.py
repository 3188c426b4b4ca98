"""Which rule gave a label's prior price, so the label can say so truthfully.

A perishable product reduced in steps (4.00, then 3.20, then 2.00) shows 4.00, the price
before the first reduction (PL art. 4 ust. 4). 3.20 was charged in the 30 days before
the 2.00, so a label captioning 4.00 "the lowest price in the 30 days before the
reduction" states a falsehood: the resolution names the basis and the label words it.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from pricing import PriceRule, Product, ResolvedPrice
from pricing.ledger import PriorPriceBasis
from pricing.resolved import label_fingerprint
from tests.pricing.test_omnibus import (
    DAY0,
    day,
    fixed,
    label_on,
    percent_off,
    perishable_product,
)
from tests.strategies import pln, pricing_product

RULES = [PriceRule(id="r", sku="A", amount=pln(400))]
MARKDOWNS = [percent_off("first", 20, -3, 0), fixed("second", 200, 0, 2)]


def test_a_perishable_markdown_names_the_price_before_the_first_reduction_as_its_basis() -> None:
    label, _ = label_on(rules=RULES, promotions=MARKDOWNS, product=perishable_product())
    assert label.prior_price == pln(400)
    assert label.prior_price_basis is PriorPriceBasis.BEFORE_FIRST_REDUCTION
    # The saving is still measured from the price shown (CJEU C-330/23).
    assert (label.saving, label.saving_percent) == (pln(200), Decimal(50))


def test_a_product_that_keeps_names_the_thirty_day_low_as_its_basis() -> None:
    label, _ = label_on(rules=RULES, promotions=MARKDOWNS)
    assert label.prior_price == pln(320)
    assert label.prior_price_basis is PriorPriceBasis.LOWEST_30_DAYS


def test_a_plain_price_has_no_prior_price_and_no_basis() -> None:
    label, _ = label_on(rules=RULES, promotions=[])
    assert label.prior_price is None
    assert label.prior_price_basis is None


def test_the_basis_is_part_of_the_fingerprint() -> None:
    """The same amounts under another caption are another label: it must be redrawn."""
    perishable, _ = label_on(rules=RULES, promotions=MARKDOWNS, product=perishable_product())
    assert perishable.at == DAY0
    as_thirty_day_low = replace(perishable, prior_price_basis=PriorPriceBasis.LOWEST_30_DAYS)
    assert label_fingerprint(as_thirty_day_low) != label_fingerprint(perishable)
    assert label_fingerprint(perishable) == perishable.fingerprint


# ------------------------------------------------ a product on sale for under 30 days


def _on_sale_since(days_before_the_reduction: float, *, perishable: bool = False) -> Product:
    product = pricing_product("A", perishable=perishable)
    return replace(product, on_sale_since=day(-days_before_the_reduction))


def _launched_and_reduced(product: Product) -> ResolvedPrice:
    # 12.00 from launch (or for 90 days, whichever is shorter), 8.99 from day 0.
    rules = [PriceRule(id="list", sku="A", amount=pln(1200), valid_from=product.on_sale_since)]
    label, _ = label_on(rules=rules, promotions=[fixed("sale", 899, 0)], product=product)
    return label


def test_a_product_on_sale_for_ten_days_names_the_lowest_since_it_went_on_sale() -> None:
    """PL art. 4 ust. 3: its prior price is the lowest of 10 days, not of 30."""
    label = _launched_and_reduced(_on_sale_since(10))
    assert label.prior_price == pln(1200)
    assert label.prior_price_basis is PriorPriceBasis.LOWEST_SINCE_ON_SALE


@pytest.mark.parametrize("days", [30, 31, 90])
def test_a_product_on_sale_for_thirty_days_or_more_names_the_thirty_day_low(days: int) -> None:
    label = _launched_and_reduced(_on_sale_since(days))
    assert label.prior_price == pln(1200)
    assert label.prior_price_basis is PriorPriceBasis.LOWEST_30_DAYS


def test_a_new_perishable_product_still_names_the_price_before_its_first_reduction() -> None:
    label = _launched_and_reduced(_on_sale_since(10, perishable=True))
    assert label.prior_price == pln(1200)
    assert label.prior_price_basis is PriorPriceBasis.BEFORE_FIRST_REDUCTION


def test_the_since_launch_basis_changes_the_fingerprint() -> None:
    label = _launched_and_reduced(_on_sale_since(10))
    as_thirty_day_low = replace(label, prior_price_basis=PriorPriceBasis.LOWEST_30_DAYS)
    assert label_fingerprint(as_thirty_day_low) != label.fingerprint
