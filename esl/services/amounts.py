"""Amounts as a person typed them: more decimals than the currency has is a mistake to
point out, not a rounding to do silently (`PLN 12.345`, `JPY 99999.99`, `HUF 1299.50`),
and decimals are counted as written: `EUR 1.000` is three, a thousand in German, never 1.00.
The API (`require_minor_unit`) and the CSV imports (`minor_unit_problem`) say it alike; a
product's net content (`1.000` g) is asked the same question (`thousands_group_question`)."""

from __future__ import annotations

from decimal import Decimal

from esl.errors import InvalidItemError
from pricing.money import MINOR_UNITS

__all__ = ["minor_unit_problem", "require_minor_unit", "thousands_group_question"]

# Digits a thousands group holds: "1.000" or "1,000" is either a thousand or one.
_GROUP_DIGITS = 3
_GROUP_LIMIT = Decimal(10) ** _GROUP_DIGITS


def thousands_group_question(number: Decimal, *, decimal_sign: str = ".") -> str | None:
    """The question to ask when `number`, as written, may be a whole number with its
    thousands grouped (1-3 digits, the first not 0, the sign and exactly three digits:
    "1.000", "2,500", "12.000"; in de_DE and de_AT the dot groups thousands, in en_GB the
    comma), with how to write either reading; None when it cannot be ("0,750", "1,5",
    "1000", "1234.000"). `decimal_sign`: the one the hint writes one with."""
    exponent = number.as_tuple().exponent
    if exponent != -_GROUP_DIGITS or not 1 <= abs(number) < _GROUP_LIMIT:
        return None
    # One, written so that it is no group: "1,0", "2,5", and "999,9990" for 999,999.
    one_text = f"{number.normalize():f}"
    decimals = len(one_text.partition(".")[2])
    one_text += ".0" if decimals == 0 else "0" if decimals == _GROUP_DIGITS else ""
    return (
        "three digits after the decimal sign: one or a thousand? "
        f"(write {number.scaleb(_GROUP_DIGITS):f} or {one_text.replace('.', decimal_sign)})"
    )


def minor_unit_problem(
    amount: Decimal, currency: str, *, field: str = "amount", decimal_sign: str = "."
) -> str | None:
    """Why `amount` is no amount of `currency` (an unknown currency, more decimals than
    its minor unit, or three written where it has fewer as a thousands group is: "2.50",
    "2.5000" and "0.500" EUR are amounts, "2.500" is not: a thousands group or not?), or
    None when it is. `decimal_sign`: the one the hint writes one with."""
    places = MINOR_UNITS.get(currency)
    if places is None:
        return f"unknown currency {currency!r}"
    # The decimals as written, not normalised (which drops trailing zeros): in de_DE and
    # de_AT the dot groups thousands, and a German price file's "1.000" (a thousand euros)
    # was imported as 1.00 and reported as a success.
    # Other trailing zeros say nothing wrong: "1299.00" HUF and "2.5000" EUR are read as
    # a spreadsheet writes them, as they always were, and so are "0.500" and "1234.000"
    # EUR, which no thousands group is.
    meant = amount.normalize().as_tuple().exponent
    if not isinstance(meant, int):
        return None
    grouped = (
        thousands_group_question(amount, decimal_sign=decimal_sign)
        if places < _GROUP_DIGITS
        else None
    )
    if -meant > places or grouped:
        unit = "no decimals" if places == 0 else f"{places} decimal place(s)"
        problem = (
            f"{field} {amount} has more decimals than {currency} allows (its minor unit: {unit})"
        )
        if grouped:
            problem += f"; {grouped}"
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
