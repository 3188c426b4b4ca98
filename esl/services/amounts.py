"""Amounts as a person typed them: more decimals than the currency has is a mistake to
point out, not a rounding to do silently (`PLN 12.345`, `JPY 99999.99`)."""

from __future__ import annotations

from decimal import Decimal

from esl.errors import InvalidItemError
from pricing.money import MINOR_UNITS

__all__ = ["require_minor_unit"]


def require_minor_unit(
    amount: Decimal, currency: str, *, field: str = "amount", item: int | None = None
) -> None:
    """InvalidItemError when `amount` has finer decimals than `currency`'s minor unit."""
    places = MINOR_UNITS.get(currency)
    if places is None:
        raise InvalidItemError(
            f"unknown currency {currency!r}", field="currency", currency=currency, item=item
        )
    exponent = amount.normalize().as_tuple().exponent
    if isinstance(exponent, int) and -exponent > places:
        unit = "no decimals" if places == 0 else f"{places} decimal place(s)"
        raise InvalidItemError(
            f"{field} {amount} has more decimals than {currency} allows (its minor unit: {unit})",
            field=field,
            currency=currency,
            minor_unit=places,
            item=item,
        )
