"""Files an operator names on the command line (a label's content, a template, a
provisioning file, a list of gateways, a password file), read as UTF-8 text.

A file saved in the Windows code page (Notepad or Excel in pl_PL) is refused naming the
file, its first byte that is not UTF-8 and that byte's line (`InputFileError`, printed by
the CLI's one error printer) instead of failing as a bug. A UTF-8 byte-order mark is
read as UTF-8.

    read_utf8_text(path)          the text, or InputFileError naming path, byte and line
    read_provisioning_file(path, parse, hint=...)
                                  a provisioning file parsed, or InputFileError naming the
                                  path, what is wrong and its first bad labels
    first_bad_byte(data, error)   the line and byte a decoding stopped at (any file)
"""

from __future__ import annotations

import codecs
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from esl.errors import InputFileError
from gateways.protocol import ProvisioningRejectedError

__all__ = ["SAVE_AS_UTF8", "first_bad_byte", "read_provisioning_file", "read_utf8_text"]

T = TypeVar("T")
# Bad labels named in the refusal; a file wrong in every one of 500 labels names the first.
LISTED_PROBLEMS = 3

SAVE_AS_UTF8 = "save it as UTF-8 (in Notepad: Save as, Encoding UTF-8)"


def read_utf8_text(path: Path) -> str:
    """The text of `path`; `InputFileError` when it is not UTF-8, and the `OSError` of a
    file that cannot be read (the CLI prints its file name and reason)."""
    # Notepad's "UTF-8 with BOM" is UTF-8 all the same.
    data = path.read_bytes().removeprefix(codecs.BOM_UTF8)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line, byte = first_bad_byte(data, error)
        raise InputFileError(
            path, f"not UTF-8 text: byte 0x{byte} on line {line}", hint=SAVE_AS_UTF8
        ) from None


def read_provisioning_file(path: Path, parse: Callable[[str], T], *, hint: str) -> T:
    """`parse` (one of the provisioning file's parsers, raising `ProvisioningRejectedError`)
    of the text of `path`; a file that is not UTF-8 or that `parse` rejects is
    `InputFileError` naming `path`, what is wrong and the first bad labels, with `hint`."""
    text = read_utf8_text(path)
    try:
        return parse(text)
    except ProvisioningRejectedError as error:
        listed = "; ".join(
            f"label {problem['line']}: {problem['reason']}"
            for problem in error.problems[:LISTED_PROBLEMS]
        )
        more = len(error.problems) - LISTED_PROBLEMS
        details = f" ({listed}{f'; and {more} more' if more > 0 else ''})" if listed else ""
        raise InputFileError(path, f"{error.message}{details}", hint=hint) from None


def first_bad_byte(data: bytes, error: UnicodeDecodeError) -> tuple[int, str]:
    """The line (counted from 1) of the byte decoding `data` stopped at, and that byte in
    hex ("B3"): where a person opening the file finds what their editor saved."""
    line = data.count(b"\n", 0, error.start) + 1
    return line, data[error.start : error.start + 1].hex().upper()
