"""A ledger that begins inside the 30 days before a reduction does not know its 30-day low.

An installation loads its prices on day -5 (no history imported); the product has been on
sale for a year and the store is open since ever. What it charged on days -30..-5 is not in
the ledger, so the lowest price of the 30 days before the reduction is unknown: the label
may not announce "Najniższa cena z 30 dni przed obniżką" from five days of prices.
"""

from __future__ import annotations

from datetime import timedelta

from pricing import PriceLedger, PriceRule, PriorPriceBasis
from pricing.replay import replay_history
from tests.strategies import PRICING_EPOCH, pln, pricing_product
from tests.support.pricing import percent_off_sale, pln_catalogue, shelf_price

DAY0 = PRICING_EPOCH


def test_a_reduction_five_days_after_installation_claims_no_thirty_day_low() -> None:
    product = pricing_product("A")
    assert product.on_sale_since <= DAY0 - timedelta(days=365)
    catalogue = pln_catalogue(
        [PriceRule(id="r", sku="A", amount=pln(1000))],
        [percent_off_sale("sale", 20, valid_from=DAY0)],
        products=[product],
    )
    ledger = PriceLedger()
    # The system's first record of the shelf: the price file loaded at installation.
    replay_history(
        catalogue, ledger=ledger, since=DAY0 - timedelta(days=5), until=DAY0, locale="pl_PL"
    )
    label = shelf_price(catalogue, at=DAY0, ledger=ledger)
    assert label.price == pln(800)
    # What it shows today: "lowest price in the 30 days before the reduction: 10,00 zł",
    # -20 %, from the 5 days the ledger holds.
    claims_thirty_days = label.prior_price_basis is PriorPriceBasis.LOWEST_30_DAYS
    assert not (label.announces_reduction and claims_thirty_days), (
        label.prior_price,
        label.prior_price_basis,
        label.saving_percent,
    )
