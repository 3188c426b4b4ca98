"""Values a console URL or form carries, bounded as the API bounds them, so that the
database never sees one it cannot take: an id beyond a 64-bit integer (SQLite's driver
raises OverflowError, PostgreSQL's a DataError) or text holding NUL (PostgreSQL refuses
it). A value outside them is refused with the console's page, never a 500 or JSON."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path
from pydantic import AfterValidator

__all__ = ["LARGEST_ID", "NUL", "FormText", "RowId", "fits_an_id"]

LARGEST_ID = 2**62  # the API's bound on ids (Path(le=2**62)), within a 64-bit column
NUL = "\x00"


def fits_an_id(text: str) -> bool:
    """Whether `text` is an id as a form sends it: ASCII digits naming 1..LARGEST_ID."""
    return text.isascii() and text.isdigit() and 1 <= int(text) <= LARGEST_ID


def _without_nul(value: str) -> str:
    if NUL in value:
        raise ValueError("a field holds a NUL character")
    return value


RowId = Annotated[int, Path(ge=1, le=LARGEST_ID)]
FormText = Annotated[str, AfterValidator(_without_nul)]
