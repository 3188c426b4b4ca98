"""What a shelf label, a quote and the CLI say, in pl, en or de, and how they write money.

One table, `LABEL_TEXTS`, one row per language: the promotion badges, the label lines
(prior price, unit prices, validity) and the words of the CLI's price table.

Money is written by Babel from CLDR data, so "12,99 zł" (pl_PL), "£12.99" (en_GB) and
"12,99 €" (de_DE) follow each locale's pattern, grouping and symbol. This is the one money
formatter of the project: labels, promotion texts, the quote's texts and the CLI use it.
Amounts are rounded HALF_UP to the currency's minor unit first (retail practice): Babel
would round half to even ("0.125" -> "0,12"), which is one grosz off a shelf price. And
the amount is written with the engine's own decimals (`MINOR_UNITS`), never CLDR's: where
the two differ Babel would round the engine's price once more, so the label would show a
price the till does not charge.
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
from babel.numbers import NumberPattern, format_decimal, get_currency_precision

from pricing.errors import UnsupportedLocaleError
from pricing.money import MINOR_UNITS

__all__ = [
    "LABEL_TEXTS",
    "SUPPORTED_LANGUAGES",
    "SUPPORTED_LOCALES",
    "LabelTexts",
    "PriceTableTexts",
    "format_label_money",
    "format_money",
    "format_percent",
    "label_language",
    "label_locale",
    "label_territory",
    "label_texts",
]

# The locales the project documents and tests end to end (labels, quote API, CLI). Other
# locales of these languages that Babel knows (de_AT, en_IE) are accepted too.
SUPPORTED_LOCALES: Final = ("pl_PL", "en_GB", "de_DE")
SUPPORTED_LANGUAGES: Final = ("pl", "en", "de")
_LETTERS_BESIDE_DIGIT: Final = re.compile(r"(?<=[^\W\d_])(?=\d)|(?<=\d)(?=[^\W\d_])")


@dataclass(frozen=True, slots=True)
class PriceTableTexts:
    """The words of `esl sample-prices`, the catalogue's prices as a table."""

    title: str  # {at}, {day_zero}
    store: str  # {code}, {name}, {zone}, {channel}
    columns: tuple[str, str, str, str, str, str, str, str]
    per_item: str  # "{money}/szt."
    not_announced: str  # a reduction the label may not announce
    no_price: str  # {code}
    notes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class LabelTexts:
    """Everything a label, a quote and the CLI say in one language: the one table.

    `{money}` and `{price}` are written by `format_money`.
    """

    # What a promotion's badge says.
    amount_off: str  # {money}
    # The same saving in fewer words, for a badge that cannot draw `amount_off` at its
    # display's smallest legible size ("Taniej o 1 234,56 zł" on a 1.54" label): the
    # amount is written as in `amount_off`, character for character
    # (`pricing.promotions.amount_off_short_text`).
    amount_off_short: str  # {money}
    multi_buy: str  # {quantity}, {money}
    buy_n_get_m: str  # {quantity}, {free}
    loyalty_offer: str  # {money}
    special_offer: str  # a reduction without a number
    # The lines of a label.
    prior_price: str  # {price}
    # The same statement in fewer words, for a label that cannot draw `prior_price` at its
    # smallest legible size (a 1.54" German label at 100 EUR or more).
    prior_price_short: str  # {price}
    # A perishable product's price before its first reduction (PL art. 4 ust. 4), which
    # is no 30-day low: a later step of the markdown may have been charged in those days.
    before_first_reduction: str  # {price}
    before_first_reduction_short: str  # {price}: as `prior_price_short` is to `prior_price`
    # The lowest price of a product on sale for less than 30 days, since it went on sale
    # (PL art. 4 ust. 3): fewer than 30 days, so no 30-day low either.
    since_on_sale: str  # {price}
    since_on_sale_short: str  # {price}: as `prior_price_short` is to `prior_price`
    unit_price: str  # {unit}, {price}
    offer_unit_price: str  # {unit}, {price}: under a multi-buy or loyalty offer
    valid_until: str  # {date}
    date_format: str  # strftime, day and month only
    price_table: PriceTableTexts


LABEL_TEXTS: MappingProxyType[str, LabelTexts] = MappingProxyType(
    {
        "pl": LabelTexts(
            amount_off="Taniej o {money}",
            amount_off_short="-{money}",
            multi_buy="{quantity} za {money}",
            buy_n_get_m="{quantity}+{free} gratis",
            loyalty_offer="Z kartą {money}",
            special_offer="Promocja",
            prior_price="Najniższa cena z 30 dni przed obniżką: {price}",
            prior_price_short="Najniższa cena z 30 dni przed obniżką: {price}",
            before_first_reduction="Cena sprzed pierwszej obniżki: {price}",
            before_first_reduction_short="Cena sprzed pierwszej obniżki: {price}",
            since_on_sale="Najniższa cena od początku sprzedaży do obniżki: {price}",
            since_on_sale_short="Najniższa od wprowadzenia do obniżki: {price}",
            unit_price="Cena za {unit}: {price}",
            offer_unit_price="Cena za {unit} w promocji: {price}",
            valid_until="do {date}",
            date_format="%d.%m",
            price_table=PriceTableTexts(
                title="Przykładowy katalog o {at}; dzień 0 próbki = {day_zero}",
                store="{code} {name} (strefa {zone}), kanał {channel}",
                columns=(
                    "SKU",
                    "Produkt",
                    "Regularna",
                    "Cena",
                    "Promocja",
                    "Najniższa 30 dni",
                    "Oszczędność",
                    "Cena jedn.",
                ),
                per_item="{money}/szt.",
                not_announced="nie ogłaszać",
                no_price="brak ceny: {code}",
                notes=(
                    "Najniższa 30 dni: najniższa cena z 30 dni przed obniżką (dla nowości: "
                    "od wprowadzenia,",
                    "dla produktów krótkoterminowych: cena sprzed pierwszej obniżki);",
                    "oszczędność liczona od niej.",
                ),
            ),
        ),
        "en": LabelTexts(
            amount_off="{money} off",
            amount_off_short="-{money}",
            multi_buy="{quantity} for {money}",
            buy_n_get_m="Buy {quantity}, get {free} free",
            loyalty_offer="With card {money}",
            special_offer="Special offer",
            prior_price="Lowest price in the 30 days before the reduction: {price}",
            prior_price_short="30-day low before the reduction: {price}",
            before_first_reduction="Price before the first reduction: {price}",
            before_first_reduction_short="Price before the first reduction: {price}",
            since_on_sale="Lowest price from launch to the reduction: {price}",
            since_on_sale_short="Low from launch to reduction: {price}",
            unit_price="Price per {unit}: {price}",
            offer_unit_price="Price per {unit} on offer: {price}",
            valid_until="until {date}",
            date_format="%d/%m",
            price_table=PriceTableTexts(
                title="Sample catalogue at {at}; the sample's day 0 = {day_zero}",
                store="{code} {name} (zone {zone}), channel {channel}",
                columns=(
                    "SKU",
                    "Product",
                    "Regular",
                    "Price",
                    "Promotion",
                    "30-day low",
                    "Saving",
                    "Unit price",
                ),
                per_item="{money} each",
                not_announced="not announced",
                no_price="no price: {code}",
                notes=(
                    "30-day low: the lowest price in the 30 days before the reduction (new "
                    "products: since",
                    "launch; perishables: the price before the first reduction);",
                    "the saving is measured from it.",
                ),
            ),
        ),
        "de": LabelTexts(
            amount_off="{money} billiger",
            amount_off_short="-{money}",
            multi_buy="{quantity} für {money}",
            buy_n_get_m="{quantity}+{free} gratis",
            loyalty_offer="Mit Karte {money}",
            special_offer="Aktion",
            prior_price="Niedrigster Preis der letzten 30 Tage vor der Reduzierung: {price}",
            prior_price_short="Tiefstpreis 30 Tage vor Reduzierung: {price}",
            before_first_reduction="Preis vor der ersten Reduzierung: {price}",
            before_first_reduction_short="Preis vor erster Reduzierung: {price}",
            since_on_sale="Niedrigster Preis seit Verkaufsbeginn bis zur Reduzierung: {price}",
            since_on_sale_short="Tiefstpreis ab Verkaufsstart vor Reduzierung: {price}",
            unit_price="Grundpreis {unit} = {price}",
            offer_unit_price="Grundpreis {unit} im Angebot = {price}",
            valid_until="bis {date}",
            date_format="%d.%m.",
            price_table=PriceTableTexts(
                title="Beispielkatalog am {at}; Tag 0 des Beispiels = {day_zero}",
                store="{code} {name} (Zone {zone}), Kanal {channel}",
                columns=(
                    "SKU",
                    "Produkt",
                    "Regulär",
                    "Preis",
                    "Aktion",
                    "30-Tage-Tief",
                    "Ersparnis",
                    "Grundpreis",
                ),
                per_item="{money}/Stück",
                not_announced="nicht ankündigen",
                no_price="kein Preis: {code}",
                notes=(
                    "30-Tage-Tief: der niedrigste Preis der 30 Tage vor der Reduzierung "
                    "(Neuheiten: seit",
                    "Einführung; verderbliche Ware: der Preis vor der ersten Reduzierung);",
                    "die Ersparnis wird davon gemessen.",
                ),
            ),
        ),
    }
)


def label_texts(locale: str) -> LabelTexts:
    """The texts of `locale`'s language; `UnsupportedLocaleError` for one without texts."""
    return LABEL_TEXTS[label_language(locale)]


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
def label_locale(locale: str) -> str:
    """The locale a label in `locale` writes its texts in: `locale` itself ("de_AT"), or
    for one that names no country ("de") its language's documented locale ("de_DE").
    `UnsupportedLocaleError` as `label_language`."""
    language = label_language(locale)
    parsed = _parse(locale)
    assert parsed is not None  # label_language refuses what Babel does not know
    if parsed.territory:
        return locale
    return next(loc for loc in SUPPORTED_LOCALES if loc.startswith(language + "_"))


@lru_cache(maxsize=256)
def label_territory(locale: str) -> str:
    """The country whose rules a label in `locale` follows: "de_AT" -> "AT", "de" -> "DE"
    (`label_locale`). `UnsupportedLocaleError` as `label_language`."""
    parsed = _parse(label_locale(locale))
    assert parsed is not None  # label_locale names a country Babel knows
    return str(parsed.territory)


@lru_cache(maxsize=256)
def _parse(locale: str) -> Locale | None:
    try:
        return Locale.parse(locale.replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError):
        return None


def _minor_digits(currency: str) -> int:
    """The engine's decimals of `currency`; CLDR's for one the engine does not know."""
    digits = MINOR_UNITS.get(currency)
    return get_currency_precision(currency) if digits is None else digits


@lru_cache(maxsize=256)
def _pattern(locale: Locale, digits: int) -> NumberPattern:
    """The locale's currency pattern with exactly `digits` decimals: 0 for "2 za 10 zł",
    the currency's minor digits for a price. Babel's own choice (`currency_digits`) is
    CLDR's, which is not the engine's for every currency (CLDR has no decimals for HUF)."""
    pattern: NumberPattern = copy.copy(locale.currency_formats["standard"])
    pattern.frac_prec = (digits, digits)
    return pattern


def format_money(
    amount: Decimal,
    currency: str,
    *,
    locale: str,
    drop_zero_decimals: bool = False,
    keep_decimals: bool = False,
) -> str:
    """`Decimal("12.99"), "PLN", locale="pl_PL"` -> "12,99 zł" (with a no-break space).

    `drop_zero_decimals` writes whole amounts as promotion texts do ("2 za 10 zł").
    `keep_decimals` writes the decimals `amount` has beyond the minor unit instead of
    rounding them off: a unit price (`UnitMoney`) of 0.0040 PLN is "0,0040 zł".
    Raises `UnsupportedLocaleError` for a locale Babel does not know.
    """
    # Cached by the amount's text: Decimal("0.01") and Decimal("0.010") are one key to a
    # cache, and `keep_decimals` writes them apart ("0,01 zł", "0,010 zł"). Keyed by the
    # Decimal, whichever a process wrote first was written for both.
    return _format_money(str(amount), currency, locale, drop_zero_decimals, keep_decimals)


@lru_cache(maxsize=16384)
def _format_money(
    written: str, currency: str, locale: str, drop_zero_decimals: bool, keep_decimals: bool
) -> str:
    amount = Decimal(written)
    parsed = _parse(locale)
    if parsed is None:
        raise UnsupportedLocaleError(f"unknown locale {locale!r}", locale=locale)
    digits = _minor_digits(currency)
    exponent = amount.as_tuple().exponent
    if keep_decimals and isinstance(exponent, int):
        digits = max(digits, -exponent)
    value = amount.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
    if drop_zero_decimals and value == value.to_integral_value():
        digits = 0
    # The pattern has as many decimals as `value`, so Babel's own rounding (half to even)
    # finds nothing to round: the text is the amount, digit for digit.
    text: str = _pattern(parsed, digits).apply(
        value, parsed, currency=currency, currency_digits=False
    )
    # CLDR's currency spacing, which Babel leaves out: a symbol of letters ("PLN", "CHF")
    # next to a digit gets a no-break space ("PLN 18", not "PLN18").
    return _LETTERS_BESIDE_DIGIT.sub("\xa0", text)


def format_label_money(
    amount: Decimal, currency: str, *, locale: str, drop_zero_decimals: bool = False
) -> str:
    """`format_money` in the label's locale (`label_locale`: "de" -> de_DE), so a badge
    writes money as the price beside it does: "2 für € 5" in de_AT, "2 für 5 €" in de_DE."""
    return format_money(
        amount, currency, locale=label_locale(locale), drop_zero_decimals=drop_zero_decimals
    )


def format_percent(percent: Decimal, *, locale: str) -> str:
    """`Decimal("12.5")` -> "12,5" (pl, de) or "12.5" (en): the label locale's decimal sign."""
    text: str = format_decimal(percent.normalize(), locale=label_locale(locale))
    return text
