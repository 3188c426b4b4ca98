"""A name is one line of text: no control character, no line break. Refused where it
enters, by this one rule: the API's fields and the CSV files' columns, each named.

A product name typed in a PIM with a tab, or pasted from a spreadsheet cell with its line
break, cannot be drawn: a label lays its texts out line by line and wraps at spaces only
(`rendering.glyph_coverage.control_characters`). A bidirectional override or isolate
(U+202A-U+202E, U+2066-U+2069) would be drawn, reordering the text after it ("99,2"
shown as "2,99"): refused the same way. Stored, it would make every label of the
product unplannable (rendering refuses it, a `ContentError` naming the field); refused
where it enters, the person who sent it is told which field and which character. A
product's name and brand and a store's name are drawn; a category and a promotion's name
are names too, read on the console and in files, held to the same rule.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field

from rendering.glyph_coverage import control_characters, describe_characters

__all__ = ["OneLineText", "one_line_problem", "require_one_line"]


def one_line_problem(text: str) -> str | None:
    """Why `text` is not one line of text (its control characters and line breaks,
    named), or None."""
    found = control_characters(text)
    if not found:
        return None
    return (
        f"contains {describe_characters(found)}: one line of text, without control "
        "characters, line breaks or direction controls (a tab, a line break, U+202E)"
    )


def require_one_line(text: str) -> str:
    """`text`, or `ValueError` naming its control characters and line breaks."""
    problem = one_line_problem(text)
    if problem:
        raise ValueError(problem)
    return text


# An API field holding a name: a product's, a brand, a category, a store's, a promotion's
# (and a product's web address, which has no place for them either).
OneLineText = Annotated[
    str,
    AfterValidator(require_one_line),
    Field(
        description="One line of text: no control character, no line break, no direction "
        "control (U+202A-U+202E, U+2066-U+2069) (422)."
    ),
]
