"""What a label says in each language, and how it writes money (Babel's CLDR data).

Label texts are a table, one row per language; adding a language is adding a row.
Money follows the locale's CLDR currency pattern: "12,99 zł" (pl_PL), "£12.99" (en_GB),
"12,99 €" (de_DE). The big shelf price is the same text cut into parts, so the
typography can draw the integer large and the decimals raised.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache
from types import MappingProxyType

from babel import Locale, UnknownLocaleError
from babel.numbers import format_currency, get_currency_symbol, get_decimal_symbol

from rendering.errors import ContentError

__all__ = [
    "LABEL_TEXTS",
    "LabelTexts",
    "PriceParts",
    "format_label_date",
    "format_money",
    "label_texts",
    "price_parts",
    "require_locale",
]


@dataclass(frozen=True, slots=True)
class LabelTexts:
    prior_price: str  # {price}
    unit_price: str  # {unit}, {price}
    valid_until: str  # {date}
    date_format: str  # strftime, day and month only
    promotion: str
    loyalty: str


LABEL_TEXTS: MappingProxyType[str, LabelTexts] = MappingProxyType(
    {
        "pl": LabelTexts(
            prior_price="Najniższa cena z 30 dni przed obniżką: {price}",
            unit_price="Cena za {unit}: {price}",
            valid_until="do {date}",
            date_format="%d.%m",
            promotion="PROMOCJA",
            loyalty="z kartą",
        ),
        "en": LabelTexts(
            prior_price="Lowest price in the 30 days before the reduction: {price}",
            unit_price="Price per {unit}: {price}",
            valid_until="until {date}",
            date_format="%d/%m",
            promotion="OFFER",
            loyalty="with card",
        ),
        "de": LabelTexts(
            prior_price="Niedrigster Preis der letzten 30 Tage vor der Reduzierung: {price}",
            unit_price="Grundpreis {unit} = {price}",
            valid_until="bis {date}",
            date_format="%d.%m.",
            promotion="AKTION",
            loyalty="mit Karte",
        ),
    }
)


def label_texts(locale: str) -> LabelTexts:
    """The texts of the locale's language; English when the language has no row yet."""
    return LABEL_TEXTS.get(_language(locale), LABEL_TEXTS["en"])


def format_label_date(day: date, *, locale: str) -> str:
    texts = label_texts(locale)
    return texts.valid_until.format(date=day.strftime(texts.date_format))


@lru_cache(maxsize=8192)
def format_money(amount: Decimal, currency: str, locale: str) -> str:
    """`Decimal("12.99"), "PLN", "pl_PL"` -> "12,99 zł" (with a no-break space)."""
    require_locale(locale)
    return format_currency(amount, currency, locale=locale)


@dataclass(frozen=True, slots=True)
class PriceParts:
    """A price cut for shelf typography: "£" "12" "99" or "12" "99" "zł"."""

    integer: str
    fraction: str  # "" for currencies without minor units
    symbol: str
    symbol_first: bool


@lru_cache(maxsize=8192)
def price_parts(amount: Decimal, currency: str, locale: str) -> PriceParts:
    text = format_money(amount, currency, locale)
    symbol = get_currency_symbol(currency, locale=locale)
    decimal = get_decimal_symbol(locale)
    symbol_first = text.startswith(symbol)
    number = text.replace(symbol, "").strip("\xa0\u202f ")
    integer, _, fraction = number.rpartition(decimal) if decimal in number else (number, "", "")
    return PriceParts(integer=integer, fraction=fraction, symbol=symbol, symbol_first=symbol_first)


def _language(locale: str) -> str:
    return locale.replace("-", "_").split("_", 1)[0].lower()


@lru_cache(maxsize=64)
def require_locale(locale: str) -> None:
    """Refuse a locale Babel does not know, naming the `locale` field."""
    try:
        Locale.parse(locale)
    except (UnknownLocaleError, ValueError) as error:
        raise ContentError("locale", f"unknown locale {locale!r}") from error
