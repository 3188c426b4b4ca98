"""A forint price is whole forints, and the label shows the price the till charges.

The engine kept HUF to two decimals (ISO 4217's fillér), so 15 % off 1 299 Ft was
1 104,15 Ft in the quote and the ledger; the money formatter then let Babel round that
again, half to even, to CLDR's whole forints: the label showed "1 104 Ft" and 998,50 Ft
as "998 Ft". Now the engine rounds a forint price HALF_UP once to whole forints, and the
formatter writes every currency with the engine's own decimals, never CLDR's.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from babel.numbers import get_currency_symbol, get_decimal_symbol, parse_decimal
from hypothesis import given, settings
from hypothesis import strategies as st

from pricing import Catalogue, Money, PriceLedger, PriceRule, ResolvedPrice, Store, resolve
from pricing.label_text import format_money
from pricing.money import MINOR_UNITS
from rendering.locale_texts import price_parts
from tests.pricing.test_omnibus import DAY0, day
from tests.strategies import money_amounts, pricing_product
from tests.support.pricing import percent_off_sale

# The documented label locales, and de_CH, whose grouping sign (’) is neither . nor ,.
LOCALES = ("pl_PL", "en_GB", "de_DE", "de_CH")


def _forint_price(amount: str, percent: int) -> ResolvedPrice:
    catalogue = Catalogue(
        products=[pricing_product("A")],
        stores=[Store("S1", "Budapest", None)],
        rules=[PriceRule(id="r", sku="A", amount=Money.of(amount, "HUF"), valid_until=None)],
        promotions=[percent_off_sale("P", percent, valid_from=day(0))],
        currency="HUF",
    )
    return resolve(
        catalogue, sku="A", channel="store", store="S1", at=DAY0, ledger=PriceLedger(),
        locale="en_GB",
    )  # fmt: skip


def _printed_amount(text: str, currency: str, locale: str) -> Decimal:
    """The amount a shopper reads in `text`, and a check that it has the engine's decimals."""
    number = text.replace(get_currency_symbol(currency, locale=locale), "").strip("\xa0 ")
    decimals = number.rpartition(get_decimal_symbol(locale))[2] if MINOR_UNITS[currency] else ""
    assert len(decimals) == MINOR_UNITS[currency], (text, currency, locale)
    return parse_decimal(number, locale=locale, strict=True)


@pytest.mark.parametrize(
    ("regular", "percent", "charged", "label"),
    [
        ("1299", 15, "1104", "HUF\xa01,104"),  # 1 104,15 Ft: down to whole forints
        ("1997", 50, "999", "HUF\xa0999"),  # 998,50 Ft: half up, where half to even gave 998
        ("2999", 10, "2699", "HUF\xa02,699"),  # 2 699,10 Ft
    ],
)
def test_a_forint_sale_price_is_whole_forints_and_the_label_shows_what_the_till_charges(
    regular: str, percent: int, charged: str, label: str
) -> None:
    resolved = _forint_price(regular, percent)
    assert resolved.price == Money.of(charged, "HUF")
    assert str(resolved.price.amount) == charged  # the quote and the ledger: no fillér
    assert format_money(resolved.price.amount, "HUF", locale="en_GB") == label
    parts = price_parts(resolved.price.amount, "HUF", "en_GB")
    assert (parts.integer.replace(",", ""), parts.fraction) == (charged, "")


def test_half_a_forint_rounds_up_wherever_it_is_rounded() -> None:
    assert Money.of("998.50", "HUF").amount == Decimal("999")
    assert format_money(Decimal("998.50"), "HUF", locale="en_GB") == "HUF\xa0999"
    assert format_money(Decimal("998.50"), "HUF", locale="pl_PL") == "999\xa0HUF"


@settings(max_examples=300, deadline=None)
@given(
    amount=money_amounts,
    currency=st.sampled_from(sorted(MINOR_UNITS)),
    locale=st.sampled_from(LOCALES),
)
def test_every_engine_price_is_printed_exactly_with_its_currency_decimals(
    amount: Decimal, currency: str, locale: str
) -> None:
    price = Money(amount, currency)
    text = format_money(price.amount, currency, locale=locale)
    assert _printed_amount(text, currency, locale) == price.amount, text
    parts = price_parts(price.amount, currency, locale)
    assert len(parts.fraction) == MINOR_UNITS[currency], (text, parts)


@pytest.mark.parametrize("currency", sorted(MINOR_UNITS))
@pytest.mark.parametrize("locale", LOCALES)
def test_an_amount_finer_than_the_currency_is_printed_as_the_engine_rounds_it(
    currency: str, locale: str
) -> None:
    # Half a minor unit above a whole amount: the engine rounds it up, Babel would not.
    amount = Decimal("998") + Decimal(5).scaleb(-MINOR_UNITS[currency] - 1)
    text = format_money(amount, currency, locale=locale)
    assert _printed_amount(text, currency, locale) == Money(amount, currency).amount, text
