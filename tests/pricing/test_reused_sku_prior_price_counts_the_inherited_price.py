"""A re-used SKU's product counts the price it inherited for the days its label showed it.

CHS-1 sold a gouda at 2.49 and was re-used for a yoghurt (`ledger_since` and
`on_sale_since` on day -35) also priced 2.49, so the ledger took no entry at the re-use:
the price did not change. The yoghurt went up to 2.99 on day -25 and got a fixed 2.29 from
day 0. Its label announced 2.29 against a prior price of 2.99 ("-23 %"), yet it sold at
2.49 on days -30 to -25, inside the 30 days: the lawful prior price is 2.49. The price in
force at `ledger_since` (the old product's) still gives no prior price on its own, so an
introductory price announces nothing; where the yoghurt's own prices announce a reduction,
it counts in the lowest for the time it applied in the window (docs/pricing.md, *Re-used
SKUs*). Through the engine: the catalogue's history replayed into the ledger, the label
of day 0 resolved from it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from pricing import (
    LedgerEntry,
    Money,
    PriceKey,
    PriceLedger,
    PriceRule,
    PriorPrice,
    PriorPriceBasis,
    Product,
    Promotion,
    PromotionKind,
    ResolvedPrice,
)
from pricing.ledger import omnibus_prior_price
from pricing.products import Channel
from pricing.replay import replay_history
from tests.strategies import PRICING_EPOCH, pricing_product
from tests.support.pricing import fixed_price_sale, pln_catalogue, shelf_price

DAY0 = PRICING_EPOCH
KEY = PriceKey("A", Channel.STORE, "S1")


def day(n: float) -> datetime:
    return DAY0 + timedelta(days=n)


def pln(amount: str) -> Money:
    return Money.of(amount, "PLN")


def yoghurt(reused: datetime, *, perishable: bool = False) -> Product:
    """SKU A re-used for a yoghurt at `reused`: on sale, and its ledger, from then."""
    return replace(
        pricing_product("A", perishable=perishable), on_sale_since=reused, ledger_since=reused
    )


def prices(*changes: tuple[float | None, str]) -> list[PriceRule]:
    """SKU A's list price: each amount from its day (None: for months) to the next one's."""
    starts = [day(n) if n is not None else None for n, _ in changes]
    return [
        PriceRule(
            id=f"r{i}",
            sku="A",
            amount=pln(amount),
            valid_from=starts[i],
            valid_until=starts[i + 1] if i + 1 < len(starts) else None,
        )
        for i, (_, amount) in enumerate(changes)
    ]


def label(
    rules: list[PriceRule], promotions: list[Promotion], product: Product, *, at: datetime = DAY0
) -> tuple[ResolvedPrice, PriceLedger]:
    catalogue = pln_catalogue(rules, promotions, products=[product])
    ledger = PriceLedger()
    replay_history(catalogue, ledger=ledger, since=day(-90), until=at, locale="pl_PL")
    return shelf_price(catalogue, at=at, ledger=ledger), ledger


def card_price(amount: str, *, valid_from: datetime) -> Promotion:
    return Promotion(
        id="card",
        name="Karta",
        kind=PromotionKind.LOYALTY_PRICE,
        skus=frozenset({"A"}),
        amount=pln(amount),
        valid_from=valid_from,
    )


# The gouda and then the yoghurt at 2.49 for months, the yoghurt at 2.99 from day -25.
RAISED_AFTER_THE_RE_USE = prices((None, "2.49"), (-25, "2.99"))


@pytest.mark.parametrize("perishable", [False, True])
def test_the_price_the_yoghurt_inherited_at_the_re_use_is_its_prior_price(
    perishable: bool,
) -> None:
    shown, ledger = label(
        RAISED_AFTER_THE_RE_USE,
        [fixed_price_sale("promo", pln("2.29"), valid_from=DAY0)],
        yoghurt(day(-35), perishable=perishable),
    )
    # No entry at the re-use: the yoghurt was priced as the gouda was.
    assert [(e.effective_from, e.price) for e in ledger.entries(KEY)] == [
        (day(-90), pln("2.49")),
        (day(-25), pln("2.99")),
        (DAY0, pln("2.29")),
    ]
    assert (shown.price, shown.regular_price) == (pln("2.29"), pln("2.99"))
    # Not 2.99 and "-23 %": the yoghurt's label showed 2.49 on days -30 to -25. For a
    # perishable one too: its list price rose within the 30 days before the reduction, so
    # the price before it (2.99) is no prior price, the 30-day low is.
    assert shown.prior_price == pln("2.49")
    assert shown.prior_price_basis is PriorPriceBasis.LOWEST_30_DAYS
    assert (shown.saving, shown.saving_percent) == (pln("0.20"), Decimal(8))
    assert shown.announces_reduction


def test_a_card_price_counts_the_inherited_price_too() -> None:
    shown, _ = label(
        RAISED_AFTER_THE_RE_USE, [card_price("2.29", valid_from=DAY0)], yoghurt(day(-35))
    )
    assert (shown.price, shown.prior_price) == (pln("2.99"), pln("2.49"))
    assert (shown.saving, shown.saving_percent) == (pln("0.20"), Decimal(8))


def test_the_inherited_price_counts_only_for_the_days_inside_the_window() -> None:
    # The same yoghurt, raised to 2.99 on day -31: its 2.49 ended before the 30 days.
    shown, _ = label(
        prices((None, "2.49"), (-31, "2.99")),
        [fixed_price_sale("promo", pln("2.29"), valid_from=DAY0)],
        yoghurt(day(-35)),
    )
    assert shown.prior_price == pln("2.99")


@pytest.mark.parametrize("perishable", [False, True])
def test_an_introductory_price_after_a_re_use_at_a_higher_price_still_announces_nothing(
    perishable: bool,
) -> None:
    # The gouda at 4.99; re-used on day -5, the yoghurt left at the gouda's 4.99 for two
    # days, then listed at 2.49 with an introductory 1.99 until day 0.
    product = yoghurt(day(-5), perishable=perishable)
    rules = prices((None, "4.99"), (-3, "2.49"))
    intro = fixed_price_sale("intro", pln("1.99"), valid_from=day(-3), valid_until=DAY0)
    shown, _ = label(rules, [intro], product, at=day(-1))
    assert shown.price == pln("1.99")
    assert shown.prior_price is None
    assert not shown.announces_reduction
    # A later reduction is compared with the yoghurt's own prices: the 4.99 it showed on
    # days -5 to -3 is in its window, but a higher price lowers nothing.
    later = fixed_price_sale("later", pln("1.79"), valid_from=DAY0)
    shown, _ = label(rules, [intro, later], product)
    assert shown.prior_price == pln("1.99")
    assert shown.announces_reduction


def test_a_promotion_above_a_lower_inherited_price_is_no_reduction() -> None:
    # The gouda at 1.99; the yoghurt left at it from the re-use on day -35 to day -25,
    # then 2.99, "reduced" to 2.29 from day 0: above the 1.99 its label showed.
    rules = prices((None, "1.99"), (-25, "2.99"))
    promo = fixed_price_sale("promo", pln("2.29"), valid_from=DAY0)
    shown, _ = label(rules, [promo], yoghurt(day(-35)))
    assert shown.prior_price == pln("1.99")
    assert (shown.saving, shown.saving_percent) == (Money.zero("PLN"), Decimal(0))
    assert not shown.announces_reduction
    # Priced 2.49 with the re-use, the yoghurt never showed the gouda's 1.99: it does not
    # count, and the 2.29 is announced against the yoghurt's own 2.49.
    rules = prices((None, "1.99"), (-35, "2.49"), (-25, "2.99"))
    shown, _ = label(rules, [promo], yoghurt(day(-35)))
    assert shown.prior_price == pln("2.49")
    assert shown.announces_reduction


def test_only_a_price_the_yoghurt_was_on_sale_at_is_inherited() -> None:
    """Read from the ledger: the gouda delisted before the re-use left nothing to inherit
    (a withdrawal charged nothing), and a yoghurt re-used on day -40 but launched on day
    -20 counts the gouda's 1.99 only from its launch, not for the days before it."""
    delisted = PriceLedger(
        [
            LedgerEntry(
                key=KEY, effective_from=day(-90), price=pln("1.99"), regular_price=pln("1.99")
            ),
            LedgerEntry.withdrawn(KEY, effective_from=day(-36)),
            LedgerEntry(
                key=KEY, effective_from=day(-25), price=pln("2.99"), regular_price=pln("2.99")
            ),
        ]
    )

    def prior(ledger: PriceLedger, *, on_sale_since: datetime) -> PriorPrice | None:
        return omnibus_prior_price(
            ledger,
            key=KEY,
            reduction_started=DAY0,
            on_sale_since=on_sale_since,
            perishable=False,
            currency="PLN",
            ledger_since=day(-35),
            price=pln("2.29"),
        )

    assert prior(delisted, on_sale_since=day(-35)) == PriorPrice(
        pln("2.99"), PriorPriceBasis.LOWEST_30_DAYS
    )
    ahead = PriceLedger(
        [
            LedgerEntry(
                key=KEY, effective_from=day(-90), price=pln("1.99"), regular_price=pln("1.99")
            ),
            LedgerEntry(
                key=KEY, effective_from=day(-25), price=pln("2.99"), regular_price=pln("2.99")
            ),
        ]
    )
    # Launched on day -20: the gouda's 1.99 ended on day -25, before the yoghurt sold.
    assert prior(ahead, on_sale_since=day(-20)) == PriorPrice(
        pln("2.99"), PriorPriceBasis.LOWEST_SINCE_ON_SALE
    )
    # Launched on day -28: its label showed 1.99 from then to day -25.
    assert prior(ahead, on_sale_since=day(-28)) == PriorPrice(
        pln("1.99"), PriorPriceBasis.LOWEST_SINCE_ON_SALE
    )
