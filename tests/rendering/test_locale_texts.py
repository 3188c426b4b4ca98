"""Money in each locale as shoppers read it, and the price cut for shelf typography."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import pytest
from babel.numbers import format_currency
from hypothesis import given, settings
from hypothesis import strategies as st

from rendering.errors import ContentError
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
    pair=st.sampled_from([("pl_PL", "PLN"), ("en_GB", "GBP"), ("de_DE", "EUR"), ("de_AT", "EUR")]),
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


def test_every_documented_locale_has_its_own_texts() -> None:
    assert label_texts("pl_PL").unit_price.startswith("Cena za")
    assert label_texts("en_GB").unit_price.startswith("Price per")
    assert label_texts("de_DE").unit_price.startswith("Grundpreis")


@pytest.mark.parametrize(
    ("locale", "reason"),
    [
        # Fira Sans Condensed draws Cyrillic and "₴": Ukrainian lacks only label texts,
        # while Kazakh's own currency sign "₸" has no glyph in the face.
        ("kk_KZ", "no glyphs for '₸' (U+20B8)"),
        ("uk_UA", "no label texts in Ukrainian"),
        ("ja_JP", "no glyphs for '日' (U+65E5)"),
        ("ar_EG", "written right to left"),
        ("fr_FR", "no label texts in French"),
        ("xx_XX", "unknown locale"),
    ],
)
def test_a_locale_the_label_cannot_be_written_in_is_refused_never_drawn_as_tofu(
    locale: str, reason: str
) -> None:
    with pytest.raises(ContentError) as refused:
        label_texts(locale)
    assert refused.value.field == "locale"
    assert reason in refused.value.reason
    assert "supported: pl_PL, en_GB, de_DE" in refused.value.reason or "unknown" in reason
    with pytest.raises(ContentError):
        format_money(Decimal("12.99"), "PLN", locale)


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        ("0.125", "0,13\xa0zł"),
        ("0.135", "0,14\xa0zł"),
        ("2.345", "2,35\xa0zł"),
        ("7", "7,00\xa0zł"),
    ],
)
def test_money_is_rounded_half_up_before_babel_writes_it(amount: str, text: str) -> None:
    # Babel alone rounds half to even: 0.125 would print as 0,12 zł.
    assert format_money(Decimal(amount), "PLN", "pl_PL") == text


@given(
    mills=st.integers(0, 10**9),
    locale=st.sampled_from(["pl_PL", "en_GB", "de_DE"]),
)
def test_money_with_more_digits_prints_as_its_half_up_rounding(mills: int, locale: str) -> None:
    amount = Decimal(mills).scaleb(-3)
    rounded = amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    assert format_money(amount, "EUR", locale) == format_money(rounded, "EUR", locale)
    assert format_money(rounded, "EUR", locale) == format_currency(rounded, "EUR", locale=locale)


def test_validity_dates_are_day_and_month() -> None:
    assert format_label_date(date(2026, 11, 30), locale="pl_PL") == "do 30.11"
    assert format_label_date(date(2026, 11, 30), locale="en_GB") == "until 30/11"
    assert format_label_date(date(2026, 11, 30), locale="de_DE") == "bis 30.11."
