"""Short texts a shelf label prints: money, promotion texts, in pl, en or de.

Money is written by Babel from CLDR data, so "12,99 zł" (pl_PL), "£12.99" (en_GB) and
"12,99 €" (de_DE) follow each locale's pattern, grouping and symbol. This is the one money
formatter of the project: labels, promotion texts, the quote's texts and the CLI use it.
Amounts are rounded HALF_UP to the currency's minor unit first (retail practice): Babel
would round half to even ("0.125" -> "0,12"), which is one grosz off a shelf price.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from types import MappingProxyType
from typing import Final

from babel import Locale, UnknownLocaleError
from babel.numbers import NumberPattern, format_currency, get_currency_precision

from pricing.errors import UnsupportedLocaleError
from pricing.money import MINOR_UNITS

__all__ = [
    "PROMOTION_TEXTS",
    "SUPPORTED_LANGUAGES",
    "SUPPORTED_LOCALES",
    "PromotionTexts",
    "format_label_money",
    "format_money",
    "label_language",
]

# The locales the project documents and tests end to end (labels, quote API, CLI). Other
# locales of these languages that Babel knows (de_AT, en_IE) are accepted too.
SUPPORTED_LOCALES: Final = ("pl_PL", "en_GB", "de_DE")
SUPPORTED_LANGUAGES: Final = ("pl", "en", "de")
_LETTERS_BESIDE_DIGIT: Final = re.compile(r"(?<=[^\W\d_])(?=\d)|(?<=\d)(?=[^\W\d_])")


@dataclass(frozen=True, slots=True)
class PromotionTexts:
    """What a promotion's badge says; `{money}` is written by `format_money`."""

    amount_off: str  # {money}
    multi_buy: str  # {quantity}, {money}
    buy_n_get_m: str  # {quantity}, {free}
    loyalty: str  # {money}
    special_offer: str  # a reduction without a number


PROMOTION_TEXTS: MappingProxyType[str, PromotionTexts] = MappingProxyType(
    {
        "pl": PromotionTexts(
            amount_off="Taniej o {money}",
            multi_buy="{quantity} za {money}",
            buy_n_get_m="{quantity}+{free} gratis",
            loyalty="Z kartą {money}",
            special_offer="Promocja",
        ),
        "en": PromotionTexts(
            amount_off="{money} off",
            multi_buy="{quantity} for {money}",
            buy_n_get_m="Buy {quantity}, get {free} free",
            loyalty="With card {money}",
            special_offer="Special offer",
        ),
        "de": PromotionTexts(
            amount_off="{money} billiger",
            multi_buy="{quantity} für {money}",
            buy_n_get_m="{quantity}+{free} gratis",
            loyalty="Mit Karte {money}",
            special_offer="Aktion",
        ),
    }
)


def label_language(locale: str) -> str:
    """ "pl_PL" -> "pl"; a locale whose language has no label texts, or that Babel does not
    know, raises `UnsupportedLocaleError`."""
    parsed = _parse(locale)
    if parsed is None or parsed.language not in SUPPORTED_LANGUAGES:
        raise UnsupportedLocaleError(
            f"no label texts for locale {locale!r}: labels are written in "
            f"{', '.join(SUPPORTED_LOCALES)} (or another locale of pl, en, de)",
            locale=locale,
            supported=list(SUPPORTED_LOCALES),
        )
    return str(parsed.language)


@lru_cache(maxsize=256)
def _parse(locale: str) -> Locale | None:
    try:
        return Locale.parse(locale.replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError):
        return None


def _quantized(amount: Decimal, currency: str) -> Decimal:
    digits = MINOR_UNITS.get(currency)
    if digits is None:
        digits = get_currency_precision(currency)
    return amount.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)


@lru_cache(maxsize=64)
def _whole_pattern(locale: Locale) -> NumberPattern:
    """The locale's currency pattern without decimals, for "2 za 10 zł"."""
    pattern: NumberPattern = copy.copy(locale.currency_formats["standard"])
    pattern.frac_prec = (0, 0)
    return pattern


@lru_cache(maxsize=16384)
def format_money(
    amount: Decimal, currency: str, *, locale: str, drop_zero_decimals: bool = False
) -> str:
    """`Decimal("12.99"), "PLN", locale="pl_PL"` -> "12,99 zł" (with a no-break space).

    `drop_zero_decimals` writes whole amounts as promotion texts do ("2 za 10 zł").
    Raises `UnsupportedLocaleError` for a locale Babel does not know.
    """
    parsed = _parse(locale)
    if parsed is None:
        raise UnsupportedLocaleError(f"unknown locale {locale!r}", locale=locale)
    value = _quantized(amount, currency)
    if drop_zero_decimals and value == value.to_integral_value():
        text: str = _whole_pattern(parsed).apply(
            value, parsed, currency=currency, currency_digits=False
        )
    else:
        text = format_currency(value, currency, locale=parsed)
    # CLDR's currency spacing, which Babel leaves out: a symbol of letters ("PLN", "CHF")
    # next to a digit gets a no-break space ("PLN 18", not "PLN18").
    return _LETTERS_BESIDE_DIGIT.sub("\xa0", text)


def format_label_money(
    amount: Decimal, currency: str, *, language: str, drop_zero_decimals: bool = False
) -> str:
    """`format_money` in the documented locale of `language` ("pl" -> pl_PL)."""
    locale = next(loc for loc in SUPPORTED_LOCALES if loc.startswith(language + "_"))
    return format_money(amount, currency, locale=locale, drop_zero_decimals=drop_zero_decimals)
