"""Publishing a price or promotion file at an instant: the rows that name no start of
their own get `valid_from` = the instant; the file is otherwise kept as it came. A file
that cannot be read as CSV is `ImportRejectedError` with its line, as the importer
refuses it without an instant."""

from __future__ import annotations

import csv
import io
from datetime import datetime

from esl.errors import ImportRejectedError
from esl.imports.csv_text import header_delimiter

__all__ = ["starting_at"]


def starting_at(text: str, instant: datetime) -> str:
    """`text` with every empty `valid_from` set to `instant` (ISO 8601 with offset)."""
    if instant.tzinfo is None:
        raise ValueError("the instant needs an offset")
    lines = text.splitlines(keepends=True)
    if not lines:
        return text
    header = lines[0]
    # The separator the importer reads the file with (`,`, `;` or tab): the header row
    # says which (docs/csv-formats.md).
    delimiter = header_delimiter(header)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows: list[list[str]] = []
    line = 0  # the line the last row read ended on
    try:
        for row in reader:
            rows.append(row)
            line = reader.line_num
    except csv.Error as error:
        # A file the importer refuses as not CSV (a cell past the csv module's field limit
        # of 128 KiB): refused here as there, with the line, not an unexpected error.
        raise ImportRejectedError(
            "the file is not valid CSV", problems=[{"line": line + 1, "reason": str(error)}]
        ) from error
    names = [name.strip().lstrip("\ufeff").lower() for name in rows[0]]
    if "valid_from" not in names:
        rows[0].append("valid_from")
        names.append("valid_from")
        for row in rows[1:]:
            if row:
                row.append("")
    column = names.index("valid_from")
    stamp = instant.isoformat()
    for row in rows[1:]:
        if row and column < len(row) and not row[column].strip():
            row[column] = stamp
    out = io.StringIO(newline="")
    csv.writer(out, delimiter=delimiter, lineterminator="\n").writerows(rows)
    return out.getvalue()
