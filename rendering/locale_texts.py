"""What a label says in each language, and how it writes money (Babel's CLDR data).

Label texts are one table, `pricing.label_text.LABEL_TEXTS` (shared with the promotion
texts, the quote and the CLI), one row per language; adding a language is adding a row and
checking that the label font draws its script (`require_locale` refuses what it cannot:
no label ever shows tofu boxes). Money is written by the project's one formatter,
`pricing.label_text.format_money`: "12,99 zł" (pl_PL), "£12.99" (en_GB), "12,99 €"
(de_DE). The big shelf price is the same text cut into parts, so the typography can draw
the integer large and the decimals raised.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache

from babel import Locale, UnknownLocaleError
from babel.numbers import (
    get_currency_precision,
    get_currency_symbol,
    get_decimal_symbol,
    get_territory_currencies,
)

from pricing.label_text import LABEL_TEXTS, SUPPORTED_LOCALES, LabelTexts
from pricing.label_text import format_money as format_any_money
from pricing.money import MINOR_UNITS
from rendering.errors import ContentError
from rendering.fonts import FONT_FAMILY
from rendering.glyph_coverage import describe_characters, undrawable_characters

__all__ = [
    "PriceParts",
    "format_label_date",
    "format_money",
    "format_unit_price",
    "label_texts",
    "minor_digits",
    "price_parts",
    "require_drawable_currency",
    "require_locale",
]


def label_texts(locale: str) -> LabelTexts:
    """The texts of the locale's language, from the project's one table
    (`pricing.label_text.LABEL_TEXTS`); `require_locale` refuses, naming why, a locale
    the label cannot be written in."""
    require_locale(locale)
    return LABEL_TEXTS[_language(locale)]


def format_label_date(day: date, *, locale: str) -> str:
    texts = label_texts(locale)
    return texts.valid_until.format(date=day.strftime(texts.date_format))


@lru_cache(maxsize=8192)
def format_money(amount: Decimal, currency: str, locale: str) -> str:
    """`Decimal("12.99"), "PLN", "pl_PL"` -> "12,99 zł" (with a no-break space)."""
    require_locale(locale)
    return format_any_money(amount, currency, locale=locale)


def format_unit_price(amount: Decimal, currency: str, locale: str) -> str:
    """A unit price with the decimals it has: `Decimal("0.0040"), "PLN", "pl_PL"` ->
    "0,0040 zł" (pricing's `UnitMoney` keeps two significant digits below ten minor
    units); "12,98 zł" as `format_money` writes it otherwise."""
    # Cached by its text: Decimal("0.004") and Decimal("0.0040") are equal keys to a cache.
    return _format_unit_price(str(amount), currency, locale)


@lru_cache(maxsize=8192)
def _format_unit_price(amount: str, currency: str, locale: str) -> str:
    require_locale(locale)
    return format_any_money(Decimal(amount), currency, locale=locale, keep_decimals=True)


def minor_digits(currency: str) -> int:
    """How many digits of `currency` a label prints after the decimal sign (2 for CHF, 3
    for KWD, 0 for HUF): the engine's minor unit, CLDR's for a currency it does not know."""
    digits = MINOR_UNITS.get(currency)
    return get_currency_precision(currency) if digits is None else digits


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
    """Refuse, naming the `locale` field, a locale a label cannot be written in.

    Refused: a locale Babel does not know; one written right to left (the layout is
    left to right); one whose script, digits, signs or own currency symbol the label font
    has no glyphs for (kk_KZ's "₸", ar_EG, ja_JP); one of a language without label texts.
    """
    try:
        parsed = Locale.parse(locale)
    except (UnknownLocaleError, ValueError, TypeError) as error:
        raise ContentError("locale", f"unknown locale {locale!r}") from error
    supported = ", ".join(SUPPORTED_LOCALES)
    if parsed.character_order == "right-to-left":
        raise ContentError(
            "locale", f"{locale!r} is written right to left; labels are laid out left to "
            f"right (supported: {supported})"
        )  # fmt: skip
    missing = undrawable_characters(_what_the_locale_writes(parsed))
    if missing:
        raise ContentError(
            "locale",
            f"the label font ({FONT_FAMILY}) cannot draw {locale!r}: no glyphs for "
            f"{describe_characters(missing)}; supported: {supported}",
        )
    if parsed.language not in {_language(loc) for loc in LABEL_TEXTS}:
        raise ContentError(
            "locale",
            f"no label texts in {Locale(parsed.language).english_name}; supported: {supported}",
        )


def _what_the_locale_writes(parsed: Locale) -> str:
    """Its own name (a sample of its script), its number signs and its currency's symbol."""
    parts = [parsed.display_name or "", parsed.language_name or "", "0123456789"]
    symbols = parsed.number_symbols.get(parsed.default_numbering_system, {})
    parts += [str(symbols.get(name, "")) for name in ("decimal", "group", "percentSign")]
    if parsed.territory:
        for currency in get_territory_currencies(parsed.territory)[:1]:
            parts.append(get_currency_symbol(currency, locale=parsed))
    return "".join(parts)


@lru_cache(maxsize=256)
def require_drawable_currency(currency: str, locale: str) -> None:
    """Refuse a currency whose symbol in `locale` the label font cannot draw."""
    symbol = get_currency_symbol(currency, locale=locale)
    missing = undrawable_characters(symbol)
    if missing:
        raise ContentError(
            "price.currency",
            f"the label font ({FONT_FAMILY}) cannot draw the {currency} sign "
            f"{describe_characters(missing)} in {locale!r}",
        )
