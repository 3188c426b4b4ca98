"""GTIN (EAN-8, UPC-A, EAN-13, GTIN-14): the GS1 check digit, checked where products come in.

A wrong check digit is not a cosmetic fault: a scanner refuses the barcode, and a label
printed from it is worse than no barcode at all. So the engine refuses such a GTIN when a
product is made (`esl import products`, the API, the bundled sample), naming the digit it
expected.
"""

from __future__ import annotations

from typing import Final

from pricing.errors import InvalidGtinError

__all__ = ["GTIN_LENGTHS", "gtin_check_digit", "gtin_with_check_digit", "require_valid_gtin"]

GTIN_LENGTHS: Final = (8, 12, 13, 14)


def gtin_check_digit(payload: str) -> int:
    """The GS1 check digit of `payload` (the GTIN without its last digit).

    Weights 3 and 1 alternate from the right-hand end of the payload, so the same rule
    serves every GTIN length (GS1 General Specifications, 7.9.1).
    """
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(payload)))
    return (10 - total % 10) % 10


def gtin_with_check_digit(payload: str) -> str:
    """The GTIN of `payload` (its digits but the last): `payload` and its check digit."""
    return payload + str(gtin_check_digit(payload))


def require_valid_gtin(gtin: str, *, sku: str = "") -> str:
    """`gtin` itself when it is 8, 12, 13 or 14 digits with the right check digit.

    Raises `InvalidGtinError` naming the computed check digit ("5901234123457", not
    "5901234123450").
    """
    if not gtin.isascii() or not gtin.isdigit() or len(gtin) not in GTIN_LENGTHS:
        raise InvalidGtinError(
            f"GTIN {gtin!r} must be 8, 12, 13 or 14 digits (it has {len(gtin)} characters)",
            sku=sku,
            gtin=gtin,
            field="gtin",
            expected_check_digit=None,
        )
    expected = gtin_check_digit(gtin[:-1])
    if int(gtin[-1]) != expected:
        raise InvalidGtinError(
            f"GTIN {gtin} has check digit {gtin[-1]}, the computed check digit is "
            f"{expected} ({gtin[:-1]}{expected})",
            sku=sku,
            gtin=gtin,
            field="gtin",
            expected_check_digit=expected,
        )
    return gtin
