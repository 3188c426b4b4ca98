"""A product delisted and relisted: the time it had no price charged nothing.

10.00 until day -60, no price from day -60 to day -5, 12.00 from day -5, a 9.00
promotion from day 0. The only price charged in the 30 days before the reduction is
12.00, so the label shows 12.00 and saves 25 %: the 10.00 in force "when the window
opens" was no longer charged then, the product was not on sale.
"""

from __future__ import annotations

from decimal import Decimal

from pricing import (
    Channel,
    LedgerEntry,
    PriceKey,
    PriceLedger,
    PriceRule,
    PriorPriceBasis,
    omnibus_prior_price,
)
from tests.pricing.test_omnibus import DAY0, KEY, day, fixed, label_on
from tests.strategies import pln

RULES = [
    PriceRule(id="listed", sku="A", amount=pln(1000), valid_until=day(-60)),
    PriceRule(id="relisted", sku="A", amount=pln(1200), valid_from=day(-5)),
]


def test_a_relisted_product_is_compared_with_its_prices_since_relisting() -> None:
    label, ledger = label_on(rules=RULES, promotions=[fixed("sale", 900, 0, 7)])
    assert [e.is_withdrawn for e in ledger.entries(KEY)] == [False, True, False, False]
    assert ledger.entries(KEY)[1].effective_from == day(-60)
    assert label.price == pln(900)
    assert label.prior_price == pln(1200)
    assert (label.saving, label.saving_percent) == (pln(300), Decimal(25))


def test_a_withdrawn_span_inside_the_window_leaves_the_prices_charged_around_it() -> None:
    # 10.00 until day -20, nothing on days -20..-15, 12.00 since: 10.00 was charged on
    # days -30..-20, inside the 30 days, and stays the prior price.
    rules = [
        PriceRule(id="listed", sku="A", amount=pln(1000), valid_until=day(-20)),
        PriceRule(id="relisted", sku="A", amount=pln(1200), valid_from=day(-15)),
    ]
    label, _ = label_on(rules=rules, promotions=[fixed("sale", 900, 0, 7)])
    assert label.prior_price == pln(1000)


def test_nothing_charged_in_the_window_gives_no_prior_price() -> None:
    ledger = PriceLedger(
        [
            LedgerEntry(key=KEY, effective_from=day(-90), price=pln(1000), regular_price=pln(1000)),
            LedgerEntry.withdrawn(KEY, effective_from=day(-60)),
        ]
    )
    prior = omnibus_prior_price(
        ledger,
        key=KEY,
        reduction_started=DAY0,
        on_sale_since=day(-365),
        perishable=False,
        currency="PLN",
    )
    assert prior is None


def test_a_perishable_relisted_product_does_not_reach_back_over_the_withdrawal() -> None:
    ledger = PriceLedger(
        [
            LedgerEntry(key=KEY, effective_from=day(-90), price=pln(1000), regular_price=pln(1000)),
            LedgerEntry.withdrawn(KEY, effective_from=day(-60)),
            LedgerEntry(key=KEY, effective_from=day(-5), price=pln(800), regular_price=pln(1200)),
        ]
    )
    prior = omnibus_prior_price(
        ledger,
        key=KEY,
        reduction_started=day(-5),
        on_sale_since=day(-365),
        perishable=True,
        currency="PLN",
    )
    assert prior is None  # relisted at a reduced price: nothing charged before it


def test_a_withdrawal_is_recorded_once() -> None:
    ledger = PriceLedger(
        [LedgerEntry(key=KEY, effective_from=day(-90), price=pln(1000), regular_price=pln(1000))]
    )
    assert ledger.withdraw(KEY, at=day(-60)) is not None
    assert ledger.withdraw(KEY, at=day(-50)) is None
    assert ledger.withdraw(PriceKey("B", Channel.STORE, "S1"), at=day(-50)) is None
    assert len(ledger) == 2


def test_a_relisted_product_keeps_the_thirty_day_caption() -> None:
    """12.00 is the lowest price charged in the 30 days before the reduction, as the
    30-day caption says; "the lowest since the product went on sale" would be false, as
    10.00 was charged before it was delisted (PL art. 4 ust. 3 is for goods offered for
    less than 30 days, not for goods offered again)."""
    label, _ = label_on(rules=RULES, promotions=[fixed("sale", 900, 0, 7)])
    assert label.prior_price == pln(1200)
    assert label.prior_price_basis is PriorPriceBasis.LOWEST_30_DAYS
