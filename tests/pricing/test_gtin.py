"""GTIN check digits: a product with a wrong one is refused, naming the digit expected."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from esl.sample import load_sample
from pricing.errors import InvalidGtinError, InvalidProductError
from pricing.gtin import gtin_check_digit, gtin_with_check_digit, require_valid_gtin
from tests.strategies import gtin_payloads


@pytest.mark.parametrize(
    ("gtin", "check"),
    [
        ("5901234123457", 7),  # GS1 Poland's own example
        ("4006381333931", 1),
        ("012345678905", 5),  # UPC-A
        ("96385074", 4),  # EAN-8
        ("10012345678902", 2),  # GTIN-14
    ],
)
def test_known_gtins_have_the_check_digit_gs1_computes(gtin: str, check: int) -> None:
    assert gtin_check_digit(gtin[:-1]) == check
    assert gtin_with_check_digit(gtin[:-1]) == gtin
    assert require_valid_gtin(gtin) == gtin


@given(gtin_payloads(), st.integers(min_value=1, max_value=9))
def test_every_wrong_check_digit_is_refused_with_the_right_one(payload: str, shift: int) -> None:
    right = gtin_check_digit(payload)
    assert require_valid_gtin(payload + str(right)) == payload + str(right)
    wrong = payload + str((right + shift) % 10)
    with pytest.raises(InvalidGtinError) as refused:
        require_valid_gtin(wrong, sku="X")
    assert refused.value.fields["expected_check_digit"] == right
    assert f"{payload}{right}" in refused.value.message
    assert isinstance(refused.value, InvalidProductError)


@pytest.mark.parametrize(
    "gtin", ["12345", "590123412345", "590123412345 ", "５９０１２３４１２３４５７"]
)
def test_a_gtin_of_the_wrong_length_or_not_ascii_digits_is_refused(gtin: str) -> None:
    # "590123412345" is 12 digits, a valid length, but its check digit is wrong.
    with pytest.raises(InvalidGtinError):
        require_valid_gtin(gtin)


def test_the_bundled_sample_has_only_valid_gtins() -> None:
    sample = load_sample(anchor=datetime(2026, 11, 20, tzinfo=UTC))
    gtins = [product.gtin for product in sample.catalogue.products.values()]
    assert len(gtins) == len(set(gtins)) > 20
    assert all(require_valid_gtin(g) for g in gtins)
