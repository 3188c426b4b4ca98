"""Bytes of an uploaded CSV file into text, as Polish users save them.

Excel in pl_PL saves "CSV (rozdzielany średnikami)" in Windows-1250 with `;` between
fields and decimal commas; "CSV UTF-8" adds a byte-order mark. The separator is read from
the header row (whose column names we know), decimal commas are taken by the field
parsers, a BOM is dropped. The encoding is never guessed silently (a wrong guess turns
"Łaciate" into "£aciate" on a shelf label): a file that is not UTF-8 is refused with the
line of the first bad byte, the encoding it looks like, and the option that reads it.

    decode_csv(data, encoding=None)   text, or ImportRejectedError naming line and option
    header_delimiter(first_line)      "," or ";" or tab, whichever the header uses
"""

from __future__ import annotations

import codecs
from enum import StrEnum

from esl.errors import ImportRejectedError
from esl.text_files import first_bad_byte

__all__ = ["CsvEncoding", "decode_csv", "header_delimiter"]


class CsvEncoding(StrEnum):
    """What `--encoding` / `?encoding=` accept: the encodings Polish spreadsheets write."""

    UTF8 = "utf-8"
    CP1250 = "cp1250"
    ISO_8859_2 = "iso-8859-2"


_POLISH_IN_CP1250 = frozenset("ąćęłńóśźżĄĆĘŁŃÓŚŹŻ")


def decode_csv(data: bytes, *, encoding: CsvEncoding | None = None, kind: str = "CSV") -> str:
    """The file's text; `encoding` None means UTF-8 (with or without a BOM)."""
    chosen = codecs.lookup(encoding or CsvEncoding.UTF8).name
    if chosen == "utf-8" and data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    try:
        return data.decode(chosen)
    except UnicodeDecodeError as error:
        line, byte = first_bad_byte(data, error)
        reason = f"byte 0x{byte} is not {chosen} text"
        hint = _encoding_hint(data) if encoding is None else ""
        raise ImportRejectedError(
            f"{kind} file is not {chosen} text",
            problems=[{"line": line, "reason": reason + hint}],
        ) from error


def _encoding_hint(data: bytes) -> str:
    try:
        text = data.decode("cp1250")
    except UnicodeDecodeError:
        return "; save it as CSV UTF-8, or pass its encoding with --encoding (API: ?encoding=)"
    if any(char in _POLISH_IN_CP1250 for char in text):
        return (
            "; it looks like Windows-1250 (Excel's Polish CSV): pass --encoding cp1250 "
            "(API: ?encoding=cp1250), or save it as CSV UTF-8"
        )
    return "; pass its encoding with --encoding cp1250 or iso-8859-2, or save it as CSV UTF-8"


def header_delimiter(first_line: str) -> str:
    """The separator the header row uses: Excel in pl_PL writes `;`, others `,`."""
    counts = {delimiter: first_line.count(delimiter) for delimiter in (",", ";", "\t")}
    best = max(counts, key=lambda delimiter: counts[delimiter])
    return best if counts[best] > counts[","] else ","
