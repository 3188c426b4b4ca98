"""Money: a `Decimal` amount and an ISO 4217 currency, rounded once, never negative.

Amounts are rounded HALF_UP (retail practice, not banker's rounding) to the currency's
minor unit when a `Money` is made, and only then: arithmetic that needs more precision
(percentages, unit prices) works on bare `Decimal`s and makes one `Money` at the end.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation, getcontext
from typing import Final

from pricing.errors import (
    AmountTooLargeError,
    CurrencyMismatchError,
    InvalidAmountError,
    NegativeAmountError,
    UnknownCurrencyError,
)

__all__ = [
    "MINOR_UNITS",
    "Money",
    "UnitMoney",
    "is_decimal_text",
    "round_to_minor_unit",
    "round_unit_price",
    "unit_price_places",
]

# The minor units a shelf price has, for the currencies a European retailer meets; extend
# as needed. ISO 4217's, except HUF: ISO keeps two (the fillér), but no forint price has
# had fillér since 1999 and CLDR writes forints whole, so a forint price is whole forints
# here too. With two, 15 % off 1 299 Ft was 1 104,15 Ft in the quote and the ledger and
# "1 104 Ft" on the label: the shelf and the till disagreed.
MINOR_UNITS: Final[dict[str, int]] = {
    "BGN": 2,
    "CHF": 2,
    "CZK": 2,
    "DKK": 2,
    "EUR": 2,
    "GBP": 2,
    "HUF": 0,
    "ISK": 0,
    "JPY": 0,
    "KWD": 3,
    "NOK": 2,
    "PLN": 2,
    "RON": 2,
    "SEK": 2,
    "UAH": 2,
    "USD": 2,
}
_QUANTUM: Final[dict[str, Decimal]] = {
    code: Decimal(1).scaleb(-n) for code, n in MINOR_UNITS.items()
}


# Digits with an optional decimal point: what a person writes for an amount. Decimal()
# also reads "3_49" as 349 (digit grouping) and "1e2" as 100, which would turn a slip of
# the finger into a price a hundred times higher, and any script's digits ("３.９９",
# "٣.٩٩": `\d` matches them too) as 3.99: the digits are 0-9.
_DECIMAL_TEXT: Final = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")


def is_decimal_text(text: str) -> bool:
    """Whether `text` (blanks around it aside) is a plain decimal number in the digits 0-9:
    "3.49", "-1", ".5"."""
    return _DECIMAL_TEXT.fullmatch(text.strip()) is not None


def _quantum(currency: str) -> Decimal:
    try:
        return _QUANTUM[currency]
    except KeyError:
        raise UnknownCurrencyError(f"unknown currency {currency!r}", currency=currency) from None


def _quantized(amount: Decimal, quantum: Decimal, currency: str) -> Decimal:
    """`amount` rounded HALF_UP to `quantum`; AmountTooLargeError, naming the amount, when
    the result has more digits than the decimal context holds (quantize raises
    `decimal.InvalidOperation`, which is no error of ours)."""
    try:
        return amount.quantize(quantum, rounding=ROUND_HALF_UP)
    except InvalidOperation:
        digits = getcontext().prec
        raise AmountTooLargeError(
            f"amount {amount} {currency} is too large: with {-quantum.adjusted()} "
            f"decimal place(s) it has more than {digits} digits",
            amount=str(amount),
            currency=currency,
            digits=digits,
        ) from None


def round_to_minor_unit(amount: Decimal, *, currency: str) -> Decimal:
    """`amount` rounded HALF_UP to the minor unit of `currency` (2.345 PLN -> 2.35);
    AmountTooLargeError when that has more digits than a Decimal holds (28)."""
    return _quantized(amount, _quantum(currency), currency)


# A unit price keeps at least this many significant digits. Rounded to the minor unit,
# 1000 toothpicks at 3.99 zł cost 0.00 zł a piece and 200 cotton buds at 2.99 zł cost
# 0.01 zł (a third too low): a shelf label must never say a piece is free. Two digits
# lose at most 5 % of the value, as the minor unit does from ten minor units up.
_UNIT_PRICE_DIGITS: Final = 2


def unit_price_places(amount: Decimal, *, places: int) -> int:
    """How many decimals a unit price of about `amount` may have in a currency of `places`
    minor digits: those, or two significant digits when it is below ten minor units."""
    if not amount or amount >= Decimal(1).scaleb(_UNIT_PRICE_DIGITS - 1 - places):
        return places
    # adjusted() is the exponent of the leading digit: 0.00399 -> -3, so 4 places.
    return max(places, _UNIT_PRICE_DIGITS - 1 - amount.adjusted())


def round_unit_price(amount: Decimal, *, currency: str) -> Decimal:
    """A unit price rounded HALF_UP once: to the minor unit of `currency` (12.98 zł per
    kg), or, when it is below ten minor units and that loses part of it, to two
    significant digits (0.00399 -> 0.0040 PLN, 0.01495 -> 0.015 PLN, 0.49 HUF)."""
    minor = round_to_minor_unit(amount, currency=currency)
    places = unit_price_places(amount, places=MINOR_UNITS[currency])
    if minor == amount or places == MINOR_UNITS[currency]:
        return minor
    fine = _quantized(amount, Decimal(1).scaleb(-places), currency)
    if fine.adjusted() > amount.adjusted():
        # Rounded up to the next power of ten (0.00999 -> 0.0100): a zero less says the same.
        fine = fine.quantize(Decimal(1).scaleb(1 - places))
    return fine


def _as_decimal(amount: object) -> Decimal:
    # Floats are refused: 0.1 + 0.2 is how shelf prices end up one grosz wrong.
    if isinstance(amount, bool) or not isinstance(amount, Decimal | int | str):
        raise InvalidAmountError(
            f"money amounts are Decimal, int or str, not {type(amount).__name__}",
            amount=repr(amount),
        )
    if isinstance(amount, str) and not is_decimal_text(amount):
        raise InvalidAmountError(f"not a number: {amount!r}", amount=repr(amount))
    try:
        value = Decimal(amount.strip() if isinstance(amount, str) else amount)
    except InvalidOperation:
        raise InvalidAmountError(f"not a number: {amount!r}", amount=repr(amount)) from None
    if not value.is_finite():
        raise InvalidAmountError(f"not a finite amount: {amount!r}", amount=repr(amount))
    return value


@dataclass(frozen=True, slots=True, order=False)
class Money:
    """An amount of one currency, already rounded to its minor unit and never negative."""

    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        value = _as_decimal(self.amount)
        rounded = self._rounded(value)
        if rounded < 0:
            raise NegativeAmountError(
                f"money is never negative: {value} {self.currency}",
                amount=str(value),
                currency=self.currency,
            )
        if not rounded:
            rounded = abs(rounded)  # -0.00 and 0.00 must print and hash alike
        object.__setattr__(self, "amount", rounded)

    def _rounded(self, value: Decimal) -> Decimal:
        return round_to_minor_unit(value, currency=self.currency)

    def __eq__(self, other: object) -> bool:
        # Any money, a unit price (`UnitMoney`) too: 1.66 PLN a litre is 1.66 PLN.
        if not isinstance(other, Money):
            return NotImplemented
        return (self.amount, self.currency) == (other.amount, other.currency)

    @classmethod
    def of(cls, amount: Decimal | int | str, currency: str) -> Money:
        """`Money.of("12.99", "PLN")`: the one way to make money from outside input."""
        return cls(_as_decimal(amount), currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(Decimal(0), currency)

    def _same_currency(self, other: Money) -> None:
        if other.currency != self.currency:
            raise CurrencyMismatchError(
                f"cannot mix {self.currency} and {other.currency}",
                left=self.currency,
                right=other.currency,
            )

    def __add__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        """Difference; raises `NegativeAmountError` rather than going below zero."""
        self._same_currency(other)
        return Money(self.amount - other.amount, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same_currency(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._same_currency(other)
        return self.amount <= other.amount

    def __gt__(self, other: Money) -> bool:
        self._same_currency(other)
        return self.amount > other.amount

    def __ge__(self, other: Money) -> bool:
        self._same_currency(other)
        return self.amount >= other.amount

    def times(self, factor: Decimal | int) -> Money:
        """This amount multiplied by `factor`, rounded once."""
        return Money(self.amount * factor, self.currency)

    @property
    def minor_units(self) -> int:
        """The amount in the currency's minor unit (12.99 PLN -> 1299)."""
        return int(self.amount.scaleb(MINOR_UNITS[self.currency]))

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"


@dataclass(frozen=True, slots=True, order=False, eq=False)
class UnitMoney(Money):
    """A unit price: `Money` rounded by `round_unit_price`, so one below ten minor units
    keeps two significant digits (0.0040 PLN per piece) instead of reading 0.00.

    It is shown, never charged: sums and multiples of it are plain `Money` again.
    """

    def _rounded(self, value: Decimal) -> Decimal:
        return round_unit_price(value, currency=self.currency)
