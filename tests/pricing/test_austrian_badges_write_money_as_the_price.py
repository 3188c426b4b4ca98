"""An Austrian (de_AT) label writes every amount one way.

de_AT writes money "€ 2,99" (CLDR: the sign first). The label's price, unit price and
prior price were written in de_AT ("€ 2,99", "Grundpreis 1 kg = € 5,98"), but the promotion
badge in de_DE ("2 für 5 €", "1,50 € billiger"): one label, two conventions, because
`pricing.label_text.format_label_money` mapped a language to its first documented locale
(de -> de_DE) instead of using the label's locale. The badges of the documented locales
(pl_PL, en_GB, de_DE) read as before.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from pricing import Catalogue, Money, PriceRule, Promotion, PromotionKind
from pricing.label_text import format_money
from pricing.promotions import amount_off_text
from tests.strategies import PRICING_EPOCH, PRICING_STORES, pricing_product
from tests.support.pricing import shelf_price

T0 = PRICING_EPOCH


def eur(text: str) -> Money:
    return Money.of(text, "EUR")


def _catalogue(kind: PromotionKind, amount: str, quantity: int | None) -> Catalogue:
    return Catalogue(
        products=[pricing_product("A")],
        stores=list(PRICING_STORES[:1]),
        rules=[PriceRule(id="r", sku="A", amount=eur("2.99"))],
        promotions=[
            Promotion(
                id="p",
                name="Aktion",
                kind=kind,
                skus=frozenset({"A"}),
                amount=eur(amount),
                quantity=quantity,
            )
        ],
        currency="EUR",
    )


def _badge(catalogue: Catalogue, locale: str) -> tuple[str, str | None]:
    resolved = shelf_price(catalogue, at=T0 + timedelta(hours=1), locale=locale)
    assert resolved.promotion is not None
    price_text = format_money(resolved.price.amount, "EUR", locale=locale)
    return price_text, resolved.promotion.text


@pytest.mark.parametrize(
    ("kind", "amount", "quantity", "austrian", "german"),
    [
        (PromotionKind.MULTI_BUY, "5.00", 2, "2 für € 5", "2 für 5 €"),
        (PromotionKind.LOYALTY_PRICE, "2.49", None, "Mit Karte € 2,49", "Mit Karte 2,49 €"),
    ],
)
def test_a_badge_writes_money_as_the_price_beside_it(
    kind: PromotionKind, amount: str, quantity: int | None, austrian: str, german: str
) -> None:
    catalogue = _catalogue(kind, amount, quantity)

    def printed(badge: tuple[str, str | None]) -> tuple[str, str | None]:
        price, text = badge
        return price.replace("\xa0", " "), None if text is None else text.replace("\xa0", " ")

    # One catalogue, both locales, in either order: the memo keeps each its own badge.
    assert printed(_badge(catalogue, "de_AT")) == ("€ 2,99", austrian)
    assert printed(_badge(catalogue, "de_DE")) == ("2,99 €", german)
    assert printed(_badge(catalogue, "de_AT")) == ("€ 2,99", austrian)


@pytest.mark.parametrize(
    ("locale", "badge"),
    [
        ("de_AT", "€ 1,50 billiger"),
        ("de_DE", "1,50 € billiger"),
        ("de", "1,50 € billiger"),  # no country: the language's documented locale
        ("pl_PL", "Taniej o 1,50 €"),
        ("en_GB", "€1.50 off"),
    ],
)
def test_the_amount_off_badge_is_written_in_the_labels_locale(locale: str, badge: str) -> None:
    assert amount_off_text(eur("1.50"), locale=locale).replace("\xa0", " ") == badge
