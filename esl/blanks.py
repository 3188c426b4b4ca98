"""Blanks around a text are not part of it: one rule for a CSV file's cells and the
API's product body.

A PIM export or a spreadsheet cell leaves a space, a tab or a no-break space around a
name, a GTIN or a unit. A product file always trimmed them; `PUT /products/{sku}` took
them as sent, so the same product stored " Mleko 2% " one way and "Mleko 2%" the other,
its labels drew the spaces, and re-sending it the other way was a change (a version, a
publication, labels replanned for nothing). Blanks inside a text are the writer's and
kept.
"""

from __future__ import annotations

__all__ = ["trim_blanks"]


def trim_blanks(text: str) -> str:
    """`text` without the blanks around it: Python's white space (`str.isspace`: spaces,
    tabs, line breaks, the no-break space and the other Unicode spaces)."""
    return text.strip()
