"""How many digits each number a user writes may have: the API's limit and the CSV files'
too, as `esl.text_lengths` holds the lengths of text.

One pair each (digits in all, of them after the decimal sign), imported by the API's
schemas (`max_digits`, `decimal_places`) and the importers alike: a product or promotion
file must not store a number the API refuses. A net content of `0.0000000001` g made a
unit price of 34 900 000 000 000 zł/kg, and a stored `percent` of `33.333333333` could
not be sent back through the API. Counted as pydantic counts them: trailing zeros after
the decimal sign do not count (`1.50000` is 1.5), so the file takes what the API takes.

Numbers are written in the digits 0-9 (`foreign_digits_problem`), in the API and the
files alike: Python's `Decimal()` and `int()` read any script's digits, so `'٣.٩٩'`,
`'３.９９'` (fullwidth) and `'३.९९'` (Devanagari) were taken as 3.99, and a fullwidth
EAN was no EAN a scanner reads. Such text comes from a file saved in another script or
pasted from one: it is refused with the characters named, never read as meant.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from decimal import Decimal

__all__ = [
    "NET_CONTENT_DIGITS",
    "PERCENT_DIGITS",
    "VAT_RATE_DIGITS",
    "DecimalDigits",
    "foreign_digits_problem",
]


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


# Foreign characters named in a refusal; a whole line of them names the first few.
_NAMED_DIGITS = 3


def foreign_digits_problem(text: str) -> str | None:
    """Why `text` is no number the API or a file takes, when it writes digits other than
    0-9 (Arabic-Indic '٣', fullwidth '３', Devanagari '३', superscript '²': `Decimal()`
    and `int()` read most of them as the digit meant), naming the first few; None when
    it writes none. The caller puts the field's or column's name before it."""
    foreign = list(dict.fromkeys(c for c in text if c.isdigit() and not c.isascii()))
    if not foreign:
        return None
    named = ", ".join(
        f"{c!r} (U+{ord(c):04X} {unicodedata.name(c, 'DIGIT')})" for c in foreign[:_NAMED_DIGITS]
    )
    more = f" and {len(foreign) - _NAMED_DIGITS} more" if len(foreign) > _NAMED_DIGITS else ""
    return (
        f"{text!r} is written with digits other than 0-9: {named}{more}; write it with "
        "the digits 0-9 (a file saved in another script, or text pasted from one?)"
    )
