"""Money in each locale as shoppers read it, and the price cut for shelf typography."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from babel.numbers import format_currency
from hypothesis import given, settings
from hypothesis import strategies as st

from rendering.locale_texts import format_label_date, format_money, label_texts, price_parts


@pytest.mark.parametrize(
    ("locale", "currency", "text"),
    [("pl_PL", "PLN", "12,99\xa0zł"), ("en_GB", "GBP", "£12.99"), ("de_DE", "EUR", "12,99\xa0€")],
)
def test_money_is_written_the_locales_way(locale: str, currency: str, text: str) -> None:
    assert format_money(Decimal("12.99"), currency, locale) == text


@settings(max_examples=100)
@given(
    cents=st.integers(0, 10**9),
    pair=st.sampled_from([("pl_PL", "PLN"), ("en_GB", "GBP"), ("de_DE", "EUR"), ("cs_CZ", "CZK")]),
)
def test_price_parts_put_back_together_read_as_babel_writes_them(
    cents: int, pair: tuple[str, str]
) -> None:
    locale, currency = pair
    amount = Decimal(cents).scaleb(-2)
    parts = price_parts(amount, currency, locale)
    decimal = "." if locale == "en_GB" else ","
    number = parts.integer + decimal + parts.fraction
    babel = format_currency(amount, currency, locale=locale)
    assert babel.replace(parts.symbol, "").strip("\xa0 ") == number
    assert babel.startswith(parts.symbol) == parts.symbol_first


def test_texts_fall_back_to_english_for_a_language_without_a_row() -> None:
    assert label_texts("fr_FR") == label_texts("en_GB")
    assert label_texts("pl_PL").unit_price.startswith("Cena za")


def test_validity_dates_are_day_and_month() -> None:
    assert format_label_date(date(2026, 11, 30), locale="pl_PL") == "do 30.11"
    assert format_label_date(date(2026, 11, 30), locale="en_GB") == "until 30/11"
    assert format_label_date(date(2026, 11, 30), locale="de_DE") == "bis 30.11."
