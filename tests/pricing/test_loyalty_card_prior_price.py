"""A loyalty-card price is a price reduction for the card's members (UOKiK's explanations
of art. 4 of the PL act of 9 May 2014): it carries the lowest price card holders paid in
the 30 days before it, the shelf prices and the earlier card prices alike, under the same
window rules as a shelf reduction. Multi-buy and buy-N-get-M offers, conditional on the
basket, carry none. Through the engine's entry points: the ledger filled by replaying
the catalogue's history, the price resolved as a label or quote gets it."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

from pricing import (
    Money,
    PriceKey,
    PriceLedger,
    PriceRule,
    PriorPriceBasis,
    Promotion,
    PromotionKind,
)
from pricing.products import Channel
from pricing.replay import replay_history
from rendering.content import LabelContent
from tests.strategies import PRICING_EPOCH, pricing_product
from tests.support.pricing import fixed_price_sale, pln_catalogue, shelf_price

DAY0 = PRICING_EPOCH
PLN = "PLN"


def day(n: float):
    return DAY0 + timedelta(days=n)


def pln(amount: str) -> Money:
    return Money.of(amount, PLN)


def card_price(pid: str, amount: str, *, valid_from=None, valid_until=None) -> Promotion:
    return Promotion(
        id=pid,
        name="Karta",
        kind=PromotionKind.LOYALTY_PRICE,
        skus=frozenset({"A"}),
        amount=pln(amount),
        valid_from=valid_from,
        valid_until=valid_until,
    )


def _replayed(rules, promotions, *, product=None, since=None):
    product = product or pricing_product("A")
    since = since or day(-90)
    catalogue = pln_catalogue(rules, promotions, products=[product])
    ledger = PriceLedger()
    replay_history(catalogue, ledger=ledger, since=since, until=DAY0, locale="pl_PL")
    return catalogue, ledger, product


def test_an_earlier_lower_card_price_is_the_prior_price_of_a_later_one() -> None:
    # Shelf 12,99 zł throughout; a card price of 7,99 zł two weeks ago, 8,99 zł from today:
    # card holders paid 7,99 zł, so 8,99 zł is no reduction for them.
    rules = [PriceRule(id="r", sku="A", amount=pln("12.99"))]
    promotions = [
        card_price("C1", "7.99", valid_from=day(-14), valid_until=DAY0),
        card_price("C2", "8.99", valid_from=DAY0),
    ]
    catalogue, ledger, product = _replayed(rules, promotions)
    key = PriceKey("A", Channel.STORE, "S1")
    # The ledger keeps what card holders paid beside the shelf price.
    assert [(e.price, e.card_price) for e in ledger.entries(key)] == [
        (pln("12.99"), None),
        (pln("12.99"), pln("7.99")),
        (pln("12.99"), pln("8.99")),
    ]

    resolved = shelf_price(catalogue, at=DAY0, ledger=ledger)
    assert resolved.price == pln("12.99")
    assert resolved.prior_price == pln("7.99")
    assert resolved.prior_price_basis is PriorPriceBasis.LOWEST_30_DAYS
    # Not below the prior price: no saving, but the card price is still drawn.
    assert resolved.saving is None
    assert resolved.saving_percent is None
    content = LabelContent.from_resolved(product=product, price=resolved, locale="pl_PL")
    assert content.promotion_text == "Z kartą 8,99\xa0zł"
    assert content.prior_price == Decimal("7.99")


def test_a_card_price_saves_against_the_30_day_low() -> None:
    # Shelf 12,99 zł for months, 11,49 zł for a week three weeks ago; card 9,99 zł today.
    rules = [
        PriceRule(id="r", sku="A", amount=pln("12.99")),
    ]
    sale = fixed_price_sale("S", pln("11.49"), valid_from=day(-21), valid_until=day(-14))
    catalogue, ledger, _ = _replayed(rules, [sale, card_price("C", "9.99", valid_from=DAY0)])
    resolved = shelf_price(catalogue, at=DAY0, ledger=ledger)
    assert resolved.prior_price == pln("11.49")
    assert resolved.saving == pln("1.50")
    assert resolved.saving_percent == Decimal(13)  # 1,50 of 11,49: 13.05 %, rounded down


def test_a_running_card_price_keeps_the_prior_price_of_its_start() -> None:
    # The card price began 40 days ago, after 60 days at 12,99 zł: its prior price is the
    # 12,99 zł before it, not its own 9,99 zł of the last 30 days.
    rules = [PriceRule(id="r", sku="A", amount=pln("12.99"))]
    catalogue, ledger, _ = _replayed(
        rules, [card_price("C", "9.99", valid_from=day(-40))], since=day(-100)
    )
    resolved = shelf_price(catalogue, at=DAY0, ledger=ledger)
    assert resolved.prior_price == pln("12.99")
    assert resolved.saving == pln("3.00")


def test_a_card_price_of_a_new_product_has_no_prior_price_as_a_shelf_reduction() -> None:
    # On sale from today, at 12,99 zł with a card price of 9,99 zł: nothing was charged
    # before, so there is nothing to compare with (PL art. 4 ust. 3: an introductory
    # price), as for a shelf reduction of a new product. The card price is still drawn:
    # card holders pay it.
    product = replace(pricing_product("A"), on_sale_since=DAY0)
    rules = [PriceRule(id="r", sku="A", amount=pln("12.99"))]
    catalogue, ledger, _ = _replayed(
        rules, [card_price("C", "9.99", valid_from=DAY0)], product=product, since=DAY0
    )
    resolved = shelf_price(catalogue, at=DAY0, ledger=ledger)
    assert resolved.prior_price is None
    assert resolved.saving is None
    content = LabelContent.from_resolved(product=product, price=resolved, locale="pl_PL")
    assert content.promotion_text == "Z kartą 9,99\xa0zł"
    assert content.prior_price is None

    shelf = pln_catalogue(
        rules, [fixed_price_sale("S", pln("9.99"), valid_from=DAY0)], products=[product]
    )
    reduced = shelf_price(shelf, at=DAY0, ledger=ledger)
    assert reduced.prior_price is None  # the same rule for a shelf reduction


def test_a_multi_buy_after_a_hike_still_has_no_prior_price() -> None:
    rules = [
        PriceRule(id="old", sku="A", amount=pln("9.99"), valid_until=day(-10)),
        PriceRule(id="new", sku="A", amount=pln("12.99"), valid_from=day(-10)),
    ]
    multi = Promotion(
        id="M",
        name="2 za 20",
        kind=PromotionKind.MULTI_BUY,
        skus=frozenset({"A"}),
        amount=pln("20"),
        quantity=2,
        valid_from=DAY0,
    )
    catalogue, ledger, _ = _replayed(rules, [multi])
    resolved = shelf_price(catalogue, at=DAY0, ledger=ledger)
    assert resolved.promotion is not None
    assert resolved.promotion.kind is PromotionKind.MULTI_BUY
    assert resolved.prior_price is None


def test_a_card_price_is_priced_from_what_the_ledger_holds_now() -> None:
    # A planner prices a card label at day -10 (7,99 zł running), then the ledger takes
    # the days since, in which 8,99 zł replaced it: the label of today must count the
    # 7,99 zł card holders paid, read from the ledger as it is now, not as it was.
    rules = [PriceRule(id="r", sku="A", amount=pln("12.99"))]
    promotions = [
        card_price("C1", "7.99", valid_from=day(-14), valid_until=DAY0),
        card_price("C2", "8.99", valid_from=DAY0),
    ]
    catalogue = pln_catalogue(rules, promotions, products=[pricing_product("A")])
    ledger = PriceLedger()
    replay_history(catalogue, ledger=ledger, since=day(-90), until=day(-10), locale="pl_PL")
    earlier = shelf_price(catalogue, at=day(-10), ledger=ledger)
    assert earlier.prior_price == pln("12.99")
    replay_history(catalogue, ledger=ledger, since=day(-10), until=DAY0, locale="pl_PL")
    today = shelf_price(catalogue, at=DAY0, ledger=ledger)
    assert today.prior_price == pln("7.99")
