"""A card price announced on a Polish shelf label beside the regular price is a price
reduction for the card's members on a named product: UOKiK's explanations of art. 4 of the
act of 9 May 2014 (2023) say such reductions carry the lowest price of the 30 days before
them, as any other. The engine treats a loyalty price as a conditional offer (like "2 za
10 zł") and gives it no prior price, so a card price after a list-price hike is drawn as
a saving with nothing to check it against, and neither the renderer's Omnibus check nor
the audit (conditional offers never announce) objects.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from pricing import Money, PriceLedger, PriceRule, Promotion, PromotionKind
from pricing.replay import replay_history
from rendering.content import LabelContent
from tests.strategies import PRICING_EPOCH, pricing_product
from tests.support.pricing import pln_catalogue, shelf_price

DAY0 = PRICING_EPOCH


def day(n: float):
    return DAY0 + timedelta(days=n)


def test_card_price_after_a_hike_is_announced_without_the_30_day_low() -> None:
    # 9,99 zł for months; the list price goes to 12,99 zł ten days ago; from today the
    # card price is 9,99 zł: the label says "Z kartą 9,99 zł" beside 12,99 zł, a saving of
    # 3 zł for card holders who paid 9,99 zł ten days ago too.
    rules = [
        PriceRule(id="old", sku="A", amount=Money.of("9.99", "PLN"), valid_until=day(-10)),
        PriceRule(id="new", sku="A", amount=Money.of("12.99", "PLN"), valid_from=day(-10)),
    ]
    card = Promotion(
        id="CARD",
        name="Karta",
        kind=PromotionKind.LOYALTY_PRICE,
        skus=frozenset({"A"}),
        amount=Money.of("9.99", "PLN"),
        valid_from=DAY0,
    )
    product = pricing_product("A")
    catalogue = pln_catalogue(rules, [card], products=[product])
    ledger = PriceLedger()
    replay_history(catalogue, ledger=ledger, since=day(-90), until=DAY0, locale="pl_PL")
    resolved = shelf_price(catalogue, at=DAY0, ledger=ledger)
    content = LabelContent.from_resolved(product=product, price=resolved, locale="pl_PL")

    assert content.promotion_text == "Z kartą 9,99\xa0zł"  # the card saving is drawn
    assert content.price == Decimal("12.99")
    # What is due: the lowest price of the 30 days before the card reduction, 9,99 zł
    # (or no announcement at all). What the label carries:
    assert content.prior_price == Decimal("9.99"), (
        f"label announces {content.promotion_text!r} beside {content.price} zł "
        f"with prior price {content.prior_price} (engine prior {resolved.prior_price})"
    )
