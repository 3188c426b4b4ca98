"""A store given another opening changes the prior price of its shelves' reductions, and
`change_impact` says so.

docs/pricing.md: `change_impact(before, after, ...)` "returns exactly the set of
`PriceKey`s whose fingerprint at `at` differs". A shelf sells a product since the store's
opening (`Store.opened`, `pricing.ledger.key_on_sale_since`), so a reduction there is
compared with the prices since the opening when it opened fewer than 30 days before, and
its label names "the lowest since it went on sale". The catalogue of a past instant
(`Catalogue.with_stores`) or a corrected opening changes that, with the same product,
price and promotion: change_impact compared those only, and answered that no label
changed while S1's shelf went from "10,00 zł, the 30-day low" to "12,00 zł, the lowest
since it went on sale".
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pricing import (
    Catalogue,
    Channel,
    PriceKey,
    PriceLedger,
    PriceRule,
    PriorPriceBasis,
    Promotion,
    PromotionKind,
    Store,
    change_impact,
    resolve_key,
)
from pricing.replay import replay_history
from tests.strategies import PRICING_EPOCH, pln
from tests.support.pricing import pln_catalogue

SHELF = PriceKey("A", Channel.STORE, "S1")


def day(n: float) -> datetime:
    return PRICING_EPOCH + timedelta(days=n)


def _catalogue(opened: datetime) -> Catalogue:
    # A at 10.00 until day -20, 12.00 since; 9.00 from day 0 in every store.
    return pln_catalogue(
        [
            PriceRule(id="old", sku="A", amount=pln(1000), valid_until=day(-20)),
            PriceRule(id="new", sku="A", amount=pln(1200), valid_from=day(-20)),
        ],
        [
            Promotion(
                id="sale",
                name="sale",
                kind=PromotionKind.FIXED_PRICE,
                skus=frozenset({"A"}),
                amount=pln(900),
                valid_from=day(0),
            )
        ],
        stores=[Store("S1", "Jeden", opened=opened), Store("S2", "Dwa", opened=day(-300))],
    )


def test_a_store_opening_moved_later_changes_the_prior_price_of_its_shelves() -> None:
    before = _catalogue(opened=day(-300))
    ledger = PriceLedger()
    replay_history(before, ledger=ledger, since=day(-90), until=day(0), locale="pl_PL")
    after = before.with_stores([Store("S1", "Jeden", opened=day(-10))])

    was = resolve_key(before, SHELF, at=day(1), ledger=ledger, locale="pl_PL")
    now = resolve_key(after, SHELF, at=day(1), ledger=ledger, locale="pl_PL")
    assert (was.prior_price, was.prior_price_basis) == (pln(1000), PriorPriceBasis.LOWEST_30_DAYS)
    assert (now.prior_price, now.prior_price_basis) == (
        pln(1200),
        PriorPriceBasis.LOWEST_SINCE_ON_SALE,
    )
    # Only S1's shelf: its web and app listings sell since the product's own date, and
    # S2 kept its opening.
    assert change_impact(before, after, at=day(1), ledger=ledger, locale="pl_PL") == {SHELF}
    assert change_impact(after, before, at=day(1), ledger=ledger, locale="pl_PL") == {SHELF}


def test_a_store_opening_that_changes_no_label_changes_nothing() -> None:
    before = _catalogue(opened=day(-300))
    ledger = PriceLedger()
    replay_history(before, ledger=ledger, since=day(-90), until=day(0), locale="pl_PL")
    # Opened 200 days ago instead of 300: its shelves sold for more than 30 days either way.
    after = before.with_stores([Store("S1", "Jeden", opened=day(-200))])
    assert change_impact(before, after, at=day(1), ledger=ledger, locale="pl_PL") == set()
