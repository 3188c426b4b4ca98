"""An OpenEPaperLink tag's address in its one normal form: 16 uppercase hex digits.

The AP lists a tag by its MAC in uppercase and accepts either case for an upload, so a
label file or label id giving it as `00000258000000ab` or `00:00:02:58:00:00:00:AB` still
gets its images drawn; but every lookup by address (the health poll's, the controller's
"one label per tag") must compare one spelling, or the tag is silently never checked for
being drawn over, or two labels show their prices on one tag and both audit as shown.
"""

from __future__ import annotations

import string
from typing import Final

__all__ = ["TAG_ADDRESS_DIGITS", "tag_address", "tag_named_by"]

TAG_ADDRESS_DIGITS: Final = 16
_SEPARATORS: Final = str.maketrans("", "", ":-")


def tag_address(text: str) -> str:
    """`text` as the AP lists the tag: 16 uppercase hex digits, any `:` or `-` between
    them removed; `ValueError` saying why when it is not a tag address."""
    digits = text.strip().translate(_SEPARATORS)
    if len(digits) != TAG_ADDRESS_DIGITS or not all(c in string.hexdigits for c in digits):
        raise ValueError(
            f"{text!r} is not an OpenEPaperLink tag address: "
            f"{TAG_ADDRESS_DIGITS} hex digits, ':' or '-' between them allowed"
        )
    return digits.upper()


def tag_named_by(label_id: str) -> str | None:
    """The tag address a label id is, in its normal form; None for a label id that is no
    tag address (another kind of label: a simulated or BLE one)."""
    try:
        return tag_address(label_id)
    except ValueError:
        return None
