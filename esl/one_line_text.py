"""A name is one line of text: no control character, no line break. Refused where it
enters, by this one rule: the API's fields and the CSV files' columns, each named.

A product name typed in a PIM with a tab, or pasted from a spreadsheet cell with its line
break, cannot be drawn: a label lays its texts out line by line and wraps at spaces only
(`rendering.glyph_coverage.control_characters`). Stored, it would make every label of the
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
        "characters or line breaks (a tab, a line break)"
    )


def require_one_line(text: str) -> str:
    """`text`, or `ValueError` naming its control characters and line breaks."""
    problem = one_line_problem(text)
    if problem:
        raise ValueError(problem)
    return text


# An API field holding a name: a product's, a brand, a category, a store's, a promotion's.
OneLineText = Annotated[
    str,
    AfterValidator(require_one_line),
    Field(description="One line of text: no control character, no line break (422)."),
]
