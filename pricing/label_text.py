"""Short texts a shelf label prints: money, promotion texts, unit labels, in pl or en.

Formatting is done here, not with Babel, because label texts follow shelf conventions
("2 za 10 zł": no ",00" on whole amounts) and the engine must stay fast and pure.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Final

from pricing.errors import UnsupportedLocaleError

__all__ = ["SUPPORTED_LANGUAGES", "format_label_money", "label_language"]

SUPPORTED_LANGUAGES: Final = ("pl", "en")
_SYMBOLS: Final[dict[str, str]] = {"PLN": "zł", "EUR": "€", "GBP": "£", "USD": "$"}


def label_language(locale: str) -> str:
    """ "pl_PL" -> "pl"; a language the engine cannot write raises `UnsupportedLocaleError`."""
    language = locale.replace("-", "_").split("_", 1)[0].lower()
    if language not in SUPPORTED_LANGUAGES:
        raise UnsupportedLocaleError(
            f"no label texts for locale {locale!r}; supported: {', '.join(SUPPORTED_LANGUAGES)}",
            locale=locale,
        )
    return language


def format_label_money(
    amount: Decimal, currency: str, *, language: str, drop_zero_decimals: bool = False
) -> str:
    """12.99 PLN -> "12,99 zł" (pl) or "12.99 PLN" (en).

    `drop_zero_decimals` writes whole amounts as promotion texts do ("2 za 10 zł").
    """
    whole = amount == amount.to_integral_value()
    text = f"{amount:.0f}" if drop_zero_decimals and whole else str(amount)
    if language == "pl":
        return f"{text.replace('.', ',')}\xa0{_SYMBOLS.get(currency, currency)}"
    return f"{text}\xa0{currency}"
