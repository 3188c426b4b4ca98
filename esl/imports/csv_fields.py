"""Reading CSV files row by row and parsing their fields, with reasons a person can act on."""

from __future__ import annotations

import csv
import io
import itertools
import re
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import IO, Generic, TypeVar

from esl.blanks import trim_blanks
from esl.decimal_digits import DecimalDigits, foreign_digits_problem
from esl.enumerated_words import enumerated_word, not_one_of
from esl.errors import ImportRejectedError
from esl.imports.csv_text import header_delimiter
from esl.imports.report import ImportReport
from esl.local_times import missing_offset_reason
from esl.one_line_text import one_line_problem
from esl.services.amounts import minor_unit_problem
from esl.skus import SKU_SPELLING, is_sku_text
from pricing.errors import InstantOutOfRangeError, PricingError
from pricing.money import is_decimal_text, round_to_minor_unit
from pricing.windows import in_utc

__all__ = [
    "BadRowError",
    "CsvFile",
    "CsvRow",
    "ParsedRows",
    "Problems",
    "check_ascii_digits",
    "check_one_line",
    "check_width",
    "hint_decimal_sign",
    "optional_instant",
    "parse_bool",
    "parse_currency",
    "parse_decimal",
    "parse_instant",
    "parse_money_amount",
    "read_rows",
]

CURRENCY = re.compile(r"^[A-Z]{3}$")
# A file with this many bad rows is almost certainly the wrong file; listing more helps no one
# and would hold the whole report in memory.
MAX_PROBLEMS = 10_000

Key = TypeVar("Key", bound=Hashable)
Value = TypeVar("Value")


class BadRowError(Exception):
    """One row cannot be used; `reason` says why in words meant for the person who made the file."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class CsvRow:
    """One data row with its line number; `get` names the column in every complaint.
    `time_zone` is the chain's (an IANA name, or None), in which a time written without
    its offset is refused with the offset it has there (`esl.local_times`), unless the
    line names one store keeping a zone of its own (`optional_instant`)."""

    __slots__ = ("line", "time_zone", "values")

    def __init__(self, line: int, values: dict[str, str], time_zone: str | None = None) -> None:
        self.line = line
        self.values = values
        self.time_zone = time_zone

    def get(self, column: str) -> str:
        return trim_blanks(self.values.get(column, ""))

    def require(self, column: str) -> str:
        value = self.get(column)
        if not value:
            raise BadRowError(f"{column} is empty")
        return value


class Problems:
    """Bad rows collected while reading; raises them all together at the end."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.items: list[dict[str, object]] = []
        self.total = 0

    def add(self, line: int, reason: str) -> None:
        self.total += 1
        if len(self.items) < MAX_PROBLEMS:
            self.items.append({"line": line, "reason": reason})

    def add_sku_refusals(
        self, refusals: Iterable[Mapping[str, object]], first_line: Mapping[str, int]
    ) -> None:
        """Refusals that name a SKU and a reason (the ledger's), each a problem of the
        file's first line naming that SKU (line 0 where none does)."""
        for refusal in refusals:
            self.add(first_line.get(str(refusal["sku"]), 0), str(refusal["reason"]))

    def add_engine_refusal(
        self, error: PricingError, lines: Mapping[str, tuple[int, object]], *, field: str
    ) -> bool:
        """The engine's refusal, a problem of the file's line whose key (`lines`: key ->
        (line, value)) the error names in `field` (line 0 where it names none of the
        file's). Whether it named one."""
        key = error.fields.get(field)
        known = isinstance(key, str) and key in lines
        self.add(lines[str(key)][0] if known else 0, error.message)
        return known

    def raise_if_any(self) -> None:
        if self.total:
            raise ImportRejectedError(
                f"{self.kind} file rejected: {self.total} bad row(s), nothing was changed",
                problems=self.items,
            )


def read_rows(
    source: IO[str] | str,
    *,
    columns: Sequence[str],
    required: Iterable[str],
    kind: str,
    time_zone: str | None = None,
) -> Iterator[CsvRow]:
    """Data rows of a CSV with a header; line numbers count the header as line 1. Each
    row carries `time_zone` (`CsvRow`)."""
    stream = io.StringIO(source) if isinstance(source, str) else source
    first = stream.readline()
    reader = csv.reader(itertools.chain([first], stream), delimiter=header_delimiter(first))
    try:
        header = next(reader)
    except StopIteration:
        raise ImportRejectedError(
            f"{kind} file is empty", problems=[{"line": 1, "reason": "no header row"}]
        ) from None
    except csv.Error as error:
        raise ImportRejectedError(
            f"{kind} file is not CSV", problems=[{"line": 1, "reason": str(error)}]
        ) from error
    names = [name.strip().lstrip("\ufeff").lower() for name in header]
    missing = [c for c in required if c not in names]
    # A header ending in its separator (`sku;price;`, as some spreadsheets save) names an
    # empty column: said as such, not as an unknown column with no name.
    unnamed = [place for place, name in enumerate(names, start=1) if not name]
    unknown = [n for n in names if n and n not in columns]
    # Two columns of one name: one of them would be dropped without a word.
    repeated = sorted({n for n in names if n and names.count(n) > 1})
    if missing or unnamed or unknown or repeated:
        reason = "; ".join(
            part
            for part in (
                f"missing column(s): {', '.join(missing)}" if missing else "",
                f"column(s) with an empty name: number {', '.join(map(str, unnamed))} "
                "(a separator too many at the end of the header?)"
                if unnamed
                else "",
                f"unknown column(s): {', '.join(unknown)}" if unknown else "",
                f"column(s) named twice: {', '.join(repeated)}" if repeated else "",
            )
            if part
        )
        raise ImportRejectedError(
            f"{kind} file has the wrong header", problems=[{"line": 1, "reason": reason}]
        )
    line = 1
    try:
        for record in reader:
            line = reader.line_num
            joined = "".join(record)
            if not joined.strip():
                continue
            if "\x00" in joined:
                yield CsvRow(line, {"__width__": "a field holds a NUL character"}, time_zone)
                continue
            if len(record) != len(names):
                width = f"{len(record)} fields, expected {len(names)}"
                yield CsvRow(line, {"__width__": width}, time_zone)
                continue
            yield CsvRow(line, dict(zip(names, record, strict=True)), time_zone)
    except csv.Error as error:
        raise ImportRejectedError(
            f"{kind} file is not valid CSV", problems=[{"line": line + 1, "reason": str(error)}]
        ) from error


@dataclass(frozen=True, slots=True)
class ParsedRows(Generic[Key, Value]):
    """The good rows of a file, one per key, each with the line it stood on, and the
    problems of the others (the caller adds its own checks' and raises them together)."""

    count: int  # data rows read, good or bad
    by_key: dict[Key, tuple[int, Value]]
    problems: Problems

    def values(self) -> list[Value]:
        return [value for _, value in self.by_key.values()]

    def report(
        self, kind: str, *, inserted: int, updated: int, publication_id: int | None
    ) -> ImportReport:
        """What the import did; a key neither inserted nor updated was already as the file says."""
        return ImportReport(
            kind=kind,
            rows=self.count,
            inserted=inserted,
            updated=updated,
            unchanged=len(self.by_key) - inserted - updated,
            publication_id=publication_id,
        )


@dataclass(frozen=True, slots=True)
class CsvFile:
    """One kind of import file: its columns, those a row must fill, and the words for a
    row whose key an earlier line already had (`{key}`, and `{line}`: the earlier line)."""

    kind: str
    columns: Sequence[str]
    required: Sequence[str]
    repeated: str

    def parse_rows(
        self,
        source: IO[str] | str,
        parse: Callable[[CsvRow], Value],
        key: Callable[[Value], Key],
        *,
        time_zone: str | None = None,
    ) -> ParsedRows[Key, Value]:
        """Every data row through `parse`, each key taken once: a row `parse` refuses, or
        a repeated key, becomes a problem with its reason and the reading goes on, so one
        pass finds them all. `time_zone` is the chain's (`CsvRow`)."""
        problems = Problems(self.kind)
        by_key: dict[Key, tuple[int, Value]] = {}
        count = 0
        rows = read_rows(
            source,
            columns=self.columns,
            required=self.required,
            kind=self.kind,
            time_zone=time_zone,
        )
        for row in rows:
            count += 1
            try:
                value = parse(row)
            except BadRowError as bad:
                problems.add(row.line, bad.reason)
                continue
            value_key = key(value)
            earlier = by_key.get(value_key)
            if earlier is not None:
                problems.add(row.line, self.repeated.format(key=value_key, line=earlier[0]))
                continue
            by_key[value_key] = (row.line, value)
        return ParsedRows(count, by_key, problems)


def check_width(row: CsvRow) -> None:
    """Refuse a row that could not be split into the header's fields."""
    if "__width__" in row.values:
        raise BadRowError(row.values["__width__"])


def check_new_sku(sku: str, column: str = "sku") -> str:
    """`sku` for a product the file creates, written as the API can name it (`esl.skus`).

    Only where a SKU is created: a file referring to a stored SKU (a price, a promotion's
    target, a product updated) takes it as it was stored, spelled before the rule too,
    and refuses one that names no product as unknown."""
    if not is_sku_text(sku):
        raise BadRowError(f"{column} {sku!r}: {SKU_SPELLING}")
    return sku


def check_ascii_digits(row: CsvRow, columns: Iterable[str]) -> None:
    """Refuse a cell written with digits other than 0-9 (`esl.decimal_digits`), naming
    the column and the characters: a GTIN in fullwidth digits is no barcode's, and
    int() and Decimal() would read it as the digits meant."""
    for column in columns:
        problem = foreign_digits_problem(row.get(column))
        if problem:
            raise BadRowError(f"{column} {problem}")


def check_lengths(row: CsvRow, lengths: Mapping[str, int]) -> None:
    """Refuse a cell longer than its database column (`esl.text_lengths`), naming the
    column: PostgreSQL would fail the whole file on it, SQLite would store what the API
    refuses."""
    for column, most in lengths.items():
        length = len(row.get(column))
        if length > most:
            raise BadRowError(f"{column} is {length} characters long, at most {most}")


def check_one_line(row: CsvRow, columns: Iterable[str]) -> None:
    """Refuse a name holding a control character or a line break, naming the column and
    the characters (`esl.one_line_text`): the API refuses it too, and a label cannot
    draw it."""
    for column in columns:
        problem = one_line_problem(row.get(column))
        if problem:
            raise BadRowError(f"{column} {problem}")


def parse_decimal(
    row: CsvRow, column: str, *, digits: DecimalDigits, required: bool = True
) -> Decimal | None:
    """A number with no more digits than the API takes in that field (`esl.decimal_digits`:
    a file must not store what `PUT /products` or a publication refuses)."""
    text = row.require(column) if required else row.get(column)
    if not text:
        return None
    value = _accepted(_decimal(text, column))
    problem = digits.problem(value)
    if problem is not None:
        raise BadRowError(f"{column} {text!r} {problem}")
    return value


def hint_decimal_sign(text: str) -> str:
    """The decimal sign a hint writes for `text` that may hold a thousands group: the one
    it did not use, which groups no thousands where the one it used does ("1.000" in de_DE
    is told "1,0", "1,000" in en_GB "1.0")."""
    return "," if "." in text else "."


def _decimal(text: str, column: str) -> tuple[Decimal | None, str]:
    """A number as people write it in a spreadsheet, with a decimal point or comma, in
    the digits 0-9 (Decimal() reads '３,９９' and '٣.٩٩' as 3.99 too)."""
    if problem := foreign_digits_problem(text):
        return None, f"{column} {problem}"
    if not is_decimal_text(text.replace(",", ".")):
        # Decimal() would read "3_49" as 349 (digit grouping) and "1e2" as 100.
        return None, f"{column} {text!r} is not a number (digits and a point or a comma)"
    try:
        value = Decimal(text.replace(",", "."))
    except InvalidOperation:
        return None, f"{column} {text!r} is not a number"
    if not value.is_finite():
        return None, f"{column} {text!r} is not a finite number"
    return value, ""


def _accepted(verdict: tuple[Value | None, str]) -> Value:
    """The value of a (value, reason) parse, or its reason as the row's problem. Those
    parses answer rather than raise so that `lru_cache` keeps refusals too (it keeps
    answers, not exceptions)."""
    value, reason = verdict
    if reason:
        raise BadRowError(reason)
    assert value is not None
    return value


def parse_money_amount(row: CsvRow, column: str, *, currency: str) -> Decimal:
    """An amount of `currency` (the system's): above zero, with no finer decimals than the
    currency's minor unit ("3.499" PLN, "1299.50" HUF are refused, not rounded)."""
    return _accepted(_money_amount(row.require(column), column, currency))


@lru_cache(maxsize=65_536)
def _money_amount(text: str, column: str, currency: str) -> tuple[Decimal | None, str]:
    # Price files repeat a few thousand distinct amounts over many rows: parse each once.
    value, reason = _decimal(text, column)
    if value is None:
        return None, reason
    if value <= 0:
        return None, f"{column} {value} is not above zero"
    problem = minor_unit_problem(
        value, currency, field=column, decimal_sign=hint_decimal_sign(text)
    )
    if problem is not None:
        return None, problem
    if value >= Decimal("1e9"):
        return None, f"{column} {value} is implausibly large"
    return round_to_minor_unit(value, currency=currency), ""


def parse_currency(row: CsvRow, column: str, *, expected: str) -> str:
    text = row.require(column).upper()
    if not CURRENCY.match(text):
        raise BadRowError(f"{column} {text!r} is not a three-letter ISO 4217 code")
    if text != expected:
        raise BadRowError(f"{column} {text} differs from this system's currency {expected}")
    return text


def parse_instant(text: str, column: str, *, time_zone: str | None = None) -> datetime:
    """`text` as an instant in UTC; one without an offset is refused with the offset it
    has in `time_zone` (`esl.local_times`)."""
    return _accepted(_instant(text, column, time_zone))


@lru_cache(maxsize=4_096)
def _instant(text: str, column: str, time_zone: str | None) -> tuple[datetime | None, str]:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None, f"{column} {text!r} is not an ISO 8601 date-time"
    if value.tzinfo is None:
        return None, missing_offset_reason(f"{column} {text!r}", value, time_zone)
    try:
        return in_utc(value, field=column), ""
    except InstantOutOfRangeError:
        return None, f"{column} {text!r} is outside years 1-9999 once in UTC"


def optional_instant(row: CsvRow, column: str, *, time_zone: str | None = None) -> datetime | None:
    """`column`'s instant, if any; `time_zone`: the clock the line was written on, where
    it is not the chain's (a line naming one store: that store's zone,
    `ImportReferences.clock_of`), whose offset a time written without one is told."""
    text = row.get(column)
    return parse_instant(text, column, time_zone=time_zone or row.time_zone) if text else None


def parse_word(text: str, column: str, words: Sequence[str]) -> str:
    """`text`, a cell or a list's item, as the one of `words` it spells, in any case
    (`esl.enumerated_words`, the API's rule); any other is a bad line naming `words`."""
    word = enumerated_word(text, words)
    if word is None:
        raise BadRowError(not_one_of(column, text, words))
    return word


def optional_word(row: CsvRow, column: str, words: Sequence[str]) -> str | None:
    """`column`'s word (`parse_word`), None for an empty cell."""
    text = row.get(column)
    return parse_word(text, column, words) if text else None


def parse_bool(row: CsvRow, column: str, *, default: bool = False) -> bool:
    text = row.get(column).lower()
    if not text:
        return default
    if text in {"1", "true", "yes", "y", "t"}:
        return True
    if text in {"0", "false", "no", "n", "f"}:
        return False
    raise BadRowError(f"{column} {text!r} is not yes/no")
