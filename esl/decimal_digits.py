"""How many digits each number a user writes may have: the API's limit and the CSV files'
too, as `esl.text_lengths` holds the lengths of text.

One pair each (digits in all, of them after the decimal sign), imported by the API's
schemas (`max_digits`, `decimal_places`) and the importers alike: a product or promotion
file must not store a number the API refuses. A net content of `0.0000000001` g made a
unit price of 34 900 000 000 000 zł/kg, and a stored `percent` of `33.333333333` could
not be sent back through the API. Counted as pydantic counts them: trailing zeros after
the decimal sign do not count (`1.50000` is 1.5), so the file takes what the API takes.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

__all__ = ["NET_CONTENT_DIGITS", "PERCENT_DIGITS", "VAT_RATE_DIGITS", "DecimalDigits"]


@dataclass(frozen=True, slots=True)
class DecimalDigits:
    """At most `total` digits, `places` of them after the decimal sign."""

    total: int
    places: int

    @property
    def whole(self) -> int:
        """Digits before the decimal sign."""
        return self.total - self.places

    def problem(self, value: Decimal) -> str | None:
        """Why `value` has too many digits ("has 5 decimal places, at most 4"), or None."""
        if not value.is_finite():
            return None
        _, digits, exponent = value.normalize().as_tuple()
        assert isinstance(exponent, int)  # finite
        places = max(0, -exponent)
        whole = max(0, len(digits) + exponent) if value else 0
        if places > self.places:
            return f"has {places} decimal places, at most {self.places}"
        if whole > self.whole:
            return f"has {whole} digits before the decimal sign, at most {self.whole}"
        return None


VAT_RATE_DIGITS = DecimalDigits(total=8, places=4)
NET_CONTENT_DIGITS = DecimalDigits(total=12, places=4)
PERCENT_DIGITS = DecimalDigits(total=7, places=4)
