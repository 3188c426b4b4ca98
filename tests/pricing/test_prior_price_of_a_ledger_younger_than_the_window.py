"""A ledger that begins inside the 30 days before a reduction does not know its 30-day low.

An installation loads its prices on day -5 (no history imported); the product has been on
sale for a year and the store is open since ever. What it charged on days -30..-5 is not in
the ledger, so the lowest price of the 30 days before the reduction is unknown: the label
may not announce "Najniższa cena z 30 dni przed obniżką" from five days of prices.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from pricing import (
    Channel,
    LedgerEntry,
    PriceKey,
    PriceLedger,
    PriceRule,
    PriorPrice,
    PriorPriceBasis,
    Product,
    due_prior_price,
)
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


def _key(channel: Channel = Channel.STORE) -> PriceKey:
    return PriceKey("A", channel, "S1")


def _due(entries: list[LedgerEntry], *, product: Product, price: int = 800) -> PriorPrice | None:
    key = entries[0].key
    return due_prior_price(
        PriceLedger(entries), key=key, product=product, store=None, price=pln(price), at=DAY0
    )


def test_history_reaching_over_the_thirty_days_gives_the_thirty_day_low() -> None:
    # The same shelf, with the shop's price history imported from day -40: 9.50 then.
    entries = [
        LedgerEntry(_key(), DAY0 - timedelta(days=40), pln(950), pln(950)),
        LedgerEntry(_key(), DAY0 - timedelta(days=5), pln(1000), pln(1000)),
    ]
    due = _due(entries, product=pricing_product("A"))
    assert due == PriorPrice(pln(950), PriorPriceBasis.LOWEST_30_DAYS)


def test_a_ledger_beginning_one_hour_short_of_the_window_knows_no_prior_price() -> None:
    # The window opens 30 days and an hour before the reduction (LONGEST_CLOCK_CHANGE).
    begins = DAY0 - timedelta(days=30)
    assert (
        _due([LedgerEntry(_key(), begins, pln(1000), pln(1000))], product=pricing_product("A"))
        is None
    )
    begins -= timedelta(hours=1)
    due = _due([LedgerEntry(_key(), begins, pln(1000), pln(1000))], product=pricing_product("A"))
    assert due == PriorPrice(pln(1000), PriorPriceBasis.LOWEST_30_DAYS)


def test_a_new_product_whose_ledger_begins_when_it_goes_on_sale_still_announces() -> None:
    launched = DAY0 - timedelta(days=12)
    product = replace(pricing_product("A"), on_sale_since=launched)
    due = _due([LedgerEntry(_key(), launched, pln(1000), pln(1000))], product=product)
    assert due == PriorPrice(pln(1000), PriorPriceBasis.LOWEST_SINCE_ON_SALE)


def test_an_app_listing_priced_last_week_of_a_product_sold_for_a_year_is_not_announced() -> None:
    # Its ledger begins a week ago, the product (and its key, as far as the store says)
    # is on sale since long before: a "30-day low" of one week would overclaim.
    entries = [LedgerEntry(_key(Channel.APP), DAY0 - timedelta(days=7), pln(1000), pln(1000))]
    assert _due(entries, product=pricing_product("A")) is None


def test_a_perishable_run_uses_its_price_before_only_when_the_ledger_holds_its_thirty_days() -> (
    None
):
    # Milk at 4.00 from the ledger's start, reduced to 2.00 from day -3; 1.50 from today.
    milk = pricing_product("A", perishable=True)

    def milk_from(begins: datetime) -> list[LedgerEntry]:
        return [
            LedgerEntry(_key(), begins, pln(400), pln(400)),
            LedgerEntry(_key(), DAY0 - timedelta(days=3), pln(200), pln(400), "p"),
        ]

    due = _due(milk_from(DAY0 - timedelta(days=60)), product=milk, price=150)
    assert due == PriorPrice(pln(400), PriorPriceBasis.BEFORE_FIRST_REDUCTION)
    # Begun 20 days ago: a lower regular price on days -33..-20 is unknown.
    assert _due(milk_from(DAY0 - timedelta(days=20)), product=milk, price=150) is None
