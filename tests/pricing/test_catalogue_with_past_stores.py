"""`Catalogue.with_stores`: the same catalogue with its stores as they were at a past
instant (an audit of then), each store priced in the zone it had then; `without_stores`:
the catalogue before stores opened."""

from __future__ import annotations

from dataclasses import replace

import pytest

from pricing import Catalogue, PriceRule
from pricing.errors import PromotionPriceAboveRegularError, UnknownStoreError
from pricing.products import Store
from pricing.promotions import Promotion, PromotionKind
from tests.strategies import PRICING_EPOCH as T0
from tests.strategies import PRICING_STORES, pln
from tests.support.pricing import DAIRY_AND_BREAD, pln_catalogue, shelf_price

STORES = list(PRICING_STORES[:3])  # S1, S2 north; S3 south
RULES = [
    PriceRule(id="base", sku="A", amount=pln(1000)),
    PriceRule(id="south", sku="A", amount=pln(900), zone="south"),
]


def _catalogue() -> Catalogue:
    return pln_catalogue(RULES, [], stores=STORES, products=DAIRY_AND_BREAD)


def test_a_store_is_priced_in_the_zone_it_is_given() -> None:
    today = _catalogue()
    then = today.with_stores([replace(STORES[0], zone="south")])
    assert shelf_price(then, at=T0, sku="A", store="S1").price == pln(900)
    assert then.stores["S1"].zone == "south"
    assert then.stores_in_zone("south") == ("S1", "S3")
    # The catalogue it came from is untouched, and the other stores are kept.
    assert shelf_price(today, at=T0, sku="A", store="S1").price == pln(1000)
    assert then.stores["S2"] == today.stores["S2"]


def test_a_zone_rule_whose_zone_had_no_store_then_applies_nowhere() -> None:
    """S3 was not in the south zone yet: the south rule, checked against today's stores,
    is not refused; S3 had the national price then."""
    then = _catalogue().with_stores([replace(STORES[2], zone=None)])
    assert "south" not in then.zones
    assert shelf_price(then, at=T0, sku="A", store="S3").price == pln(1000)


def test_an_unknown_store_is_refused() -> None:
    with pytest.raises(UnknownStoreError, match="S9"):
        _catalogue().with_stores([Store(code="S9", name="Nowhere")])


# `Catalogue.without_stores`: the catalogue before stores opened, for the check of the
# promotions an opening makes meet a rule (docs/pricing.md, Promotions and stacking).

DEAL = Promotion(
    id="deal",
    name="6.00",
    kind=PromotionKind.FIXED_PRICE,
    skus=frozenset({"A"}),
    amount=pln(600),
)
ZONE_PRICES = [
    PriceRule(id="base", sku="A", amount=pln(499)),
    PriceRule(id="north", sku="A", amount=pln(800), zone="north"),
    PriceRule(id="south", sku="A", amount=pln(800), zone="south"),
]


def test_a_store_opened_without_a_zone_makes_a_deal_meet_the_national_price() -> None:
    """6.00 everywhere is below 8.00 in every zoned store, and taken; S4 has no zone and
    sells at the national 4.99: the catalogue without it met 4.99 nowhere."""
    pln_catalogue(ZONE_PRICES, [DEAL], stores=STORES, products=DAIRY_AND_BREAD)  # taken
    opened = Catalogue(
        products=DAIRY_AND_BREAD,
        stores=PRICING_STORES,
        rules=ZONE_PRICES,
        promotions=[DEAL],
        currency="PLN",
        promotion_prices_checked=True,  # as read from the store of record
    )
    before = opened.without_stores(["S4"])
    assert "S4" not in before.stores
    assert "S4" in opened.stores
    with pytest.raises(PromotionPriceAboveRegularError, match="rule base"):
        opened.check_promotions_met_anew(before)
    # Checked against itself, nothing is met anew.
    opened.check_promotions_met_anew(opened)


def test_a_store_a_rule_or_promotion_names_is_not_left_out() -> None:
    rules = [*RULES, PriceRule(id="own", sku="A", amount=pln(950), store="S2")]
    catalogue = pln_catalogue(rules, [], stores=STORES, products=DAIRY_AND_BREAD)
    with pytest.raises(UnknownStoreError, match="rule own names store 'S2'"):
        catalogue.without_stores(["S2"])
    with pytest.raises(UnknownStoreError, match="S9"):
        catalogue.without_stores(["S9"])
