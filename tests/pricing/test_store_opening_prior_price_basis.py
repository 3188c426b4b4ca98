"""A shelf of a store opened fewer than 30 days before a reduction: its prior price is
the lowest since it went on sale there, and docs/pricing.md says such a price "is the
lowest since it went on sale (PL art. 4 ust. 3), not a 30-day low, and its basis says
so". The product's own `on_sale_since` (chain-wide, a year ago) is not when this shelf
began to sell it; the store's opening (`Store.opened`) is. A key whose ledger merely
starts recently (an installation without imported history, a relisted product) is not
taken for a new shelf: only the store says when it opened. A web or app listing keyed
by a store opened later sold chain-wide before its key's ledger began: it announces no
reduction until that ledger holds the 30 days (`sold_before_its_ledger`)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from pricing import (
    Channel,
    LedgerEntry,
    PriceKey,
    PriceLedger,
    PriorPrice,
    PriorPriceBasis,
    Store,
    due_prior_price,
)
from tests.strategies import PRICING_EPOCH, pln, pricing_product


def day(n: float) -> datetime:
    return PRICING_EPOCH + timedelta(days=400 + n)


def _due(channel: Channel, store: Store) -> PriorPrice | None:
    key = PriceKey("A", channel, store.code)
    # S2's key sells A from ten days ago at 4.99, then 5.49; 4.79 from today.
    ledger = PriceLedger(
        [
            LedgerEntry(key, day(-10), pln(499), pln(499)),
            LedgerEntry(key, day(-9), pln(549), pln(549)),
        ]
    )
    product = pricing_product("A")
    assert product.on_sale_since < day(-60)  # on sale chain-wide for long
    return due_prior_price(ledger, key=key, product=product, store=store, price=pln(479), at=day(0))


def test_a_shelf_of_a_store_opened_ten_days_ago_names_the_lowest_since_on_sale() -> None:
    due = _due(Channel.STORE, Store("S2", "Nowy", opened=day(-10)))
    assert due == PriorPrice(pln(499), PriorPriceBasis.LOWEST_SINCE_ON_SALE)


@pytest.mark.parametrize(
    "store",
    [
        Store("S2", "Stary", opened=day(-30)),  # open exactly 30 days: a 30-day low
        Store("S2", "Stary", opened=day(-400)),
        Store("S2", "Stary", opened=None),  # no opening known: always sold
    ],
)
def test_a_key_whose_ledger_starts_recently_in_an_old_store_keeps_the_30_day_low(
    store: Store,
) -> None:
    due = _due(Channel.STORE, store)
    assert due == PriorPrice(pln(499), PriorPriceBasis.LOWEST_30_DAYS)


@pytest.mark.parametrize("channel", [Channel.WEB, Channel.APP])
def test_the_web_and_app_listings_keyed_by_a_new_store_announce_no_low_they_cannot_know(
    channel: Channel,
) -> None:
    # The listing sells chain-wide since the product's date, but this key's ledger
    # begins at the store's opening: a lower web price charged before is not in it. No
    # prior price, no announced reduction (neither the 4.99 of ten days as a 30-day low,
    # nor the shelf's lowest since opening).
    assert _due(channel, Store("S2", "Nowy", opened=day(-10))) is None


@pytest.mark.parametrize("channel", [Channel.WEB, Channel.APP])
def test_a_listing_keyed_by_a_new_store_whose_ledger_holds_the_30_days_keeps_its_low(
    channel: Channel,
) -> None:
    # History imported for the store's keys from before the window: the low is known.
    key = PriceKey("A", channel, "S2")
    ledger = PriceLedger(
        [
            LedgerEntry(key, day(-40), pln(519), pln(519)),
            LedgerEntry(key, day(-10), pln(499), pln(499)),
            LedgerEntry(key, day(-9), pln(549), pln(549)),
        ]
    )
    due = due_prior_price(
        ledger,
        key=key,
        product=pricing_product("A"),
        store=Store("S2", "Nowy", opened=day(-10)),
        price=pln(479),
        at=day(0),
    )
    assert due == PriorPrice(pln(499), PriorPriceBasis.LOWEST_30_DAYS)


def test_a_product_launched_after_the_store_opened_is_on_sale_since_its_launch() -> None:
    # The store opened ten days ago; A went on sale there five days ago. 3.99, loaded
    # before the launch, was never charged and is no prior price.
    product = replace(pricing_product("A"), on_sale_since=day(-5))
    key = PriceKey("A", Channel.STORE, "S2")
    ledger = PriceLedger(
        [
            LedgerEntry(key, day(-8), pln(399), pln(399)),
            LedgerEntry(key, day(-5), pln(499), pln(499)),
        ]
    )
    due = due_prior_price(
        ledger,
        key=key,
        product=product,
        store=Store("S2", "Nowy", opened=day(-10)),
        price=pln(479),
        at=day(0),
    )
    assert due == PriorPrice(pln(499), PriorPriceBasis.LOWEST_SINCE_ON_SALE)


@pytest.mark.parametrize("channel", [Channel.STORE, Channel.WEB])
@pytest.mark.parametrize(
    ("product_recorded", "store_recorded"),
    [(day(-10), None), (None, day(-10)), (day(-12), day(-10))],
)
def test_a_key_on_sale_before_it_was_recorded_announces_no_low_it_cannot_know(
    channel: Channel, product_recorded: datetime | None, store_recorded: datetime | None
) -> None:
    # Product and store sold for long, but this installation records them only since ten
    # days ago (`recorded_since`): what the key charged before is unknown.
    product = replace(pricing_product("A"), recorded_since=product_recorded)
    store = Store("S2", "Stary", opened=day(-400), recorded_since=store_recorded)
    key = PriceKey("A", channel, "S2")
    recent = [
        LedgerEntry(key, day(-10), pln(499), pln(499)),
        LedgerEntry(key, day(-9), pln(549), pln(549)),
    ]

    def due(entries: list[LedgerEntry]) -> PriorPrice | None:
        return due_prior_price(
            PriceLedger(entries), key=key, product=product, store=store, price=pln(479), at=day(0)
        )

    assert due(recent) is None
    # Its history imported from before the 30 days: the low is known again.
    imported = LedgerEntry(key, day(-45), pln(519), pln(519))
    assert due([imported, *recent]) == PriorPrice(pln(499), PriorPriceBasis.LOWEST_30_DAYS)


def test_a_product_recorded_before_its_launch_announces_against_the_lowest_since() -> None:
    product = replace(pricing_product("A"), on_sale_since=day(-10), recorded_since=day(-11))
    store = Store("S2", "Stary", opened=day(-400), recorded_since=day(-200))
    key = PriceKey("A", Channel.STORE, "S2")
    ledger = PriceLedger(
        [
            LedgerEntry(key, day(-10), pln(499), pln(499)),
            LedgerEntry(key, day(-9), pln(549), pln(549)),
        ]
    )
    due = due_prior_price(ledger, key=key, product=product, store=store, price=pln(479), at=day(0))
    assert due == PriorPrice(pln(499), PriorPriceBasis.LOWEST_SINCE_ON_SALE)
