"""Which rule gave a label's prior price, so the label can say so truthfully.

A perishable product reduced in steps (4.00, then 3.20, then 2.00) shows 4.00, the price
before the first reduction (PL art. 4 ust. 4). 3.20 was charged in the 30 days before
the 2.00, so a label captioning 4.00 "the lowest price in the 30 days before the
reduction" states a falsehood: the resolution names the basis and the label words it.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from pricing import PriceRule
from pricing.ledger import PriorPriceBasis
from pricing.resolved import label_fingerprint
from tests.pricing.test_omnibus import DAY0, fixed, label_on, percent_off, perishable_product
from tests.strategies import pln

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
