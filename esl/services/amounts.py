"""Amounts as a person typed them: more decimals than the currency has is a mistake to
point out, not a rounding to do silently (`PLN 12.345`, `JPY 99999.99`, `HUF 1299.50`),
and decimals are counted as written: `EUR 1.000` is three, a thousand in German, never 1.00.
The API (`require_minor_unit`) and the CSV imports (`minor_unit_problem`) say it alike."""

from __future__ import annotations

from decimal import Decimal

from esl.errors import InvalidItemError
from pricing.money import MINOR_UNITS

__all__ = ["minor_unit_problem", "require_minor_unit"]

# Digits a thousands group holds: "1.000" or "1,000" is either a thousand or one.
_GROUP_DIGITS = 3


def minor_unit_problem(amount: Decimal, currency: str, *, field: str = "amount") -> str | None:
    """Why `amount` is no amount of `currency` (an unknown currency, more decimals than
    its minor unit, or three written where it has fewer: "2.50" and "2.5000" EUR are
    amounts, "2.500" is not: a thousands group or not?), or None when it is."""
    places = MINOR_UNITS.get(currency)
    if places is None:
        return f"unknown currency {currency!r}"
    # The decimals as written, not normalised (which drops trailing zeros): in de_DE and
    # de_AT the dot groups thousands, and a German price file's "1.000" (a thousand euros)
    # was imported as 1.00 and reported as a success.
    # Other trailing zeros say nothing wrong: "1299.00" HUF and "2.5000" EUR are read as
    # a spreadsheet writes them, as they always were.
    written = amount.as_tuple().exponent
    meant = amount.normalize().as_tuple().exponent
    if not isinstance(written, int) or not isinstance(meant, int):
        return None
    grouped = -written == _GROUP_DIGITS and places < _GROUP_DIGITS
    if -meant > places or grouped:
        unit = "no decimals" if places == 0 else f"{places} decimal place(s)"
        problem = (
            f"{field} {amount} has more decimals than {currency} allows (its minor unit: {unit})"
        )
        if grouped:
            problem += "; three digits after the decimal sign: one or a thousand?"
        return problem
    return None


def require_minor_unit(
    amount: Decimal, currency: str, *, field: str = "amount", item: int | None = None
) -> None:
    """InvalidItemError when `amount` has finer decimals than `currency`'s minor unit."""
    problem = minor_unit_problem(amount, currency, field=field)
    if problem is None:
        return
    if currency not in MINOR_UNITS:
        raise InvalidItemError(problem, field="currency", currency=currency, item=item)
    raise InvalidItemError(
        problem, field=field, currency=currency, minor_unit=MINOR_UNITS[currency], item=item
    )
