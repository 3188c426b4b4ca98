"""Amounts as a person typed them: more decimals than the currency has is a mistake to
point out, not a rounding to do silently (`PLN 12.345`, `JPY 99999.99`, `HUF 1299.50`).
The API (`require_minor_unit`) and the CSV imports (`minor_unit_problem`) say it alike."""

from __future__ import annotations

from decimal import Decimal

from esl.errors import InvalidItemError
from pricing.money import MINOR_UNITS

__all__ = ["minor_unit_problem", "require_minor_unit"]


def minor_unit_problem(amount: Decimal, currency: str, *, field: str = "amount") -> str | None:
    """Why `amount` is no amount of `currency` (an unknown currency, or finer decimals
    than its minor unit), or None when it is one."""
    places = MINOR_UNITS.get(currency)
    if places is None:
        return f"unknown currency {currency!r}"
    exponent = amount.normalize().as_tuple().exponent
    if isinstance(exponent, int) and -exponent > places:
        unit = "no decimals" if places == 0 else f"{places} decimal place(s)"
        return f"{field} {amount} has more decimals than {currency} allows (its minor unit: {unit})"
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
