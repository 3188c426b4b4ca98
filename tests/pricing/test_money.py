"""Money: Decimal plus currency, HALF_UP to the minor unit once, never negative."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pricing import Money, round_to_minor_unit
from pricing.errors import (
    AmountTooLargeError,
    CurrencyMismatchError,
    EslError,
    InvalidAmountError,
    NegativeAmountError,
    UnknownCurrencyError,
)
from pricing.money import UnitMoney
from tests.strategies import money_amounts


@pytest.mark.parametrize(
    ("raw", "currency", "expected"),
    [
        ("2.345", "PLN", "2.35"),  # half up, not to even
        ("2.335", "PLN", "2.34"),
        ("2.344999", "PLN", "2.34"),
        ("12.99", "PLN", "12.99"),
        ("7", "PLN", "7.00"),
        ("1234.5", "JPY", "1235"),
        ("1.2345", "KWD", "1.235"),
    ],
)
def test_amounts_round_half_up_to_the_currency_minor_unit(
    raw: str, currency: str, expected: str
) -> None:
    assert Money.of(raw, currency).amount == Decimal(expected)
    assert str(Money.of(raw, currency).amount) == expected


def test_a_negative_amount_is_refused_with_its_value() -> None:
    with pytest.raises(NegativeAmountError) as error:
        Money.of("-0.01", "PLN")
    assert error.value.fields == {"amount": "-0.01", "currency": "PLN"}


def test_an_amount_that_rounds_to_zero_from_below_is_zero_not_negative() -> None:
    assert Money.of("-0.004", "PLN") == Money.zero("PLN")
    assert str(Money.of("-0.004", "PLN").amount) == "0.00"


def test_an_unknown_currency_is_refused() -> None:
    with pytest.raises(UnknownCurrencyError) as error:
        Money.of("1", "ZZZ")
    assert error.value.fields["currency"] == "ZZZ"
    assert error.value.to_dict()["code"] == "unknown_currency"


# "3_49" and "1e2" are numbers to Decimal (349, 100), not to a person writing a price.
@pytest.mark.parametrize("raw", [1.5, "abc", "NaN", "Infinity", True, None, "3_49", "1e2", ""])
def test_floats_and_non_numbers_are_refused(raw: object) -> None:
    with pytest.raises(InvalidAmountError):
        Money.of(raw, "PLN")  # type: ignore[arg-type]


def test_mixing_currencies_is_an_error() -> None:
    with pytest.raises(CurrencyMismatchError) as error:
        _ = Money.of("1", "PLN") + Money.of("1", "EUR")
    assert error.value.fields == {"left": "PLN", "right": "EUR"}
    with pytest.raises(CurrencyMismatchError):
        _ = Money.of("1", "PLN") < Money.of("1", "EUR")


def test_subtraction_below_zero_raises_instead_of_clamping() -> None:
    assert Money.of("5", "PLN") - Money.of("1.01", "PLN") == Money.of("3.99", "PLN")
    with pytest.raises(NegativeAmountError):
        _ = Money.of("1", "PLN") - Money.of("1.01", "PLN")


def test_minor_units_count_grosze() -> None:
    assert Money.of("12.99", "PLN").minor_units == 1299
    assert Money.of("1235", "JPY").minor_units == 1235


@settings(max_examples=200)
@given(amount=money_amounts, currency=st.sampled_from(["PLN", "EUR", "JPY", "KWD"]))
def test_rounding_is_idempotent(amount: Decimal, currency: str) -> None:
    once = round_to_minor_unit(amount, currency=currency)
    assert round_to_minor_unit(once, currency=currency) == once
    assert Money(Money(amount, currency).amount, currency) == Money(amount, currency)


@settings(max_examples=200)
@given(amount=money_amounts)
def test_rounding_moves_an_amount_by_at_most_half_a_grosz(amount: Decimal) -> None:
    assert abs(Money(amount, "PLN").amount - amount) <= Decimal("0.005")


# 28 significant digits is a Decimal's precision: Money.of("1" * 27, "PLN") is 29 with its
# grosze, and quantize raised decimal.InvalidOperation, which no `except EslError` caught.
@pytest.mark.parametrize(
    ("raw", "currency"),
    [
        ("1" * 27, "PLN"),
        ("9" * 28, "PLN"),
        ("1" * 40 + ".99", "EUR"),
        ("1" * 29, "JPY"),
        (Decimal("1E+30"), "PLN"),
        (10**30, "PLN"),
    ],
)
def test_an_amount_with_more_digits_than_a_decimal_holds_is_our_own_error(
    raw: Decimal | int | str, currency: str
) -> None:
    with pytest.raises(AmountTooLargeError) as error:
        Money.of(raw, currency)
    assert isinstance(error.value, InvalidAmountError)
    assert isinstance(error.value, EslError)
    assert error.value.fields["amount"] == str(Decimal(raw))
    assert error.value.fields["currency"] == currency
    assert str(Decimal(raw)) in error.value.message
    assert error.value.to_dict()["code"] == "amount_too_large"


def test_the_largest_amount_a_decimal_holds_is_money_and_its_sums_past_it_are_refused() -> None:
    largest = Money.of("9" * 26 + ".99", "PLN")
    assert largest.amount == Decimal("9" * 26 + ".99")
    assert Money.of("1" * 28, "JPY").amount == Decimal("1" * 28)
    with pytest.raises(AmountTooLargeError):
        _ = largest + Money.of("0.01", "PLN")
    with pytest.raises(AmountTooLargeError):
        largest.times(10)
    with pytest.raises(AmountTooLargeError):
        UnitMoney(Decimal("1" * 30), "PLN")
