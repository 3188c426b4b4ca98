"""`esl import stores`: the chain's stores, their price zones, time zones and openings."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import IO

from sqlalchemy import select
from sqlalchemy.orm import Session

from esl.case_twins import CaseTwins
from esl.db.models import StoreRow, ZoneRow
from esl.errors import InvalidItemError
from esl.imports.csv_fields import (
    BadRowError,
    CsvFile,
    CsvRow,
    ParsedRows,
    check_one_line,
    check_width,
    optional_instant,
)
from esl.imports.report import ImportReport
from esl.services.ledger_instants import WriteClock, read_instant
from esl.services.stores import opening_of, save_stores
from esl.text_lengths import STORE_NAME_LENGTH
from esl.time_zones import check_time_zone
from pricing.errors import PricingError, UnknownReferenceError
from pricing.products import Store

__all__ = ["STORE_COLUMNS", "import_stores"]

STORE_COLUMNS = ("code", "name", "zone", "time_zone", "opened")
STORE_FILE = CsvFile(
    "store", STORE_COLUMNS, ("code", "name"), repeated="store {key} repeats line {line}"
)
# As the API's store path: codes end up in MQTT topics (no '.') and URLs.
CODE = re.compile(r"^[A-Za-z0-9_\-]{1,32}$")


def _parse(
    row: CsvRow,
    zones: set[str],
    stored: dict[str, StoreRow],
    twins: CaseTwins,
    session: Session,
    now: datetime,
) -> Store:
    check_width(row)
    code = row.require("code")
    if not CODE.match(code):
        raise BadRowError(f"code {code!r}: 1 to 32 letters, digits, '_' or '-'")
    # 's01' beside 'S01' would be a second store no file or gateway means.
    if twin := twins.refusal(code, row.line):
        raise BadRowError(twin)
    name = row.require("name")
    check_one_line(row, ("name",))
    if len(name) > STORE_NAME_LENGTH:
        raise BadRowError(f"name of store {code} is longer than {STORE_NAME_LENGTH} characters")
    before = stored.get(code)
    time_zone = _time_zone(row, code, before)
    # An opening left out or empty: a new store opens now, a stored one keeps its own
    # (`esl.services.stores.opening_of` checks a given one). Written on the store's clock
    # (its zone as the line leaves it): a time without an offset is told that one's.
    opened = optional_instant(row, "opened", time_zone=time_zone)
    # A column the file does not have keeps what is stored (a file of names must not move
    # every store to national prices); an empty cell clears it.
    if "zone" not in row.values:
        zone = before.zone if before else None
    else:
        zone = row.get("zone") or None
        if zone is not None and zone not in zones:
            raise BadRowError(f"zone {zone!r} of store {code} does not exist (PUT /api/v1/zones)")
    store = Store(code=code, name=name, zone=zone, time_zone=time_zone, opened=opened)
    # An opening in the future, or later than the store's first price, is this line's: told
    # with it, beside the file's other bad lines. The write checks it again under the price
    # writers' lock, with the instants already due recorded (`_refused_at_the_write`).
    try:
        opening_of(session, store, before, now=now)
    except InvalidItemError as error:
        raise BadRowError(error.message) from error
    return store


def _time_zone(row: CsvRow, code: str, before: StoreRow | None) -> str | None:
    if "time_zone" not in row.values:
        return before.time_zone if before else None
    time_zone = row.get("time_zone") or None
    if time_zone is not None:
        try:
            check_time_zone(time_zone)
        except ValueError as error:
            raise BadRowError(f"store {code}: {error}") from error
    return time_zone


def import_stores(
    session: Session,
    source: IO[str] | str,
    *,
    imported_by: str,
    now: WriteClock,
    currency: str,
    title: str = "store file",
    time_zone: str | None = None,
) -> ImportReport:
    """Create the stores of the file and change those that differ; all rows or none, the
    caller commits. Stores the file leaves out are left as they are.

    An empty `zone` or `time_zone` cell clears it (national prices; the installation's
    time zone), as in the API; a file without that column keeps what is stored. `opened`,
    since when a store sells, as the API's: empty or left out, a new store opens now and
    a stored one keeps its opening. A changed store's labels are planned again (its name,
    its last days, its zone's prices, its opening's captions), recorded as one import
    publication; a store moved to another zone enters the Omnibus
    ledger at `now` (`currency`: the ledger's), and a new store with its prices from then."""
    zones = set(session.scalars(select(ZoneRow.code)))
    stored = {row.code: row for row in session.scalars(select(StoreRow))}
    twins = CaseTwins(stored, "store code")
    # The facts the file has no column for: a stored store keeps them as they are stored
    # when it is written, under the price writers' lock (another writer may move it to
    # another zone after this read; this file moves it nowhere).
    kept: set[str] = set()
    read_at = read_instant(now)
    # As read (the write changes these rows): what a refusal of the write is told against.
    zones_before = {code: row.zone for code, row in stored.items()}

    def parse(row: CsvRow) -> Store:
        kept.update(column for column in ("zone", "time_zone") if column not in row.values)
        return _parse(row, zones, stored, twins, session, read_at)

    parsed = STORE_FILE.parse_rows(
        source,
        parse,
        key=lambda s: s.code,
        time_zone=time_zone,
    )
    parsed.problems.raise_if_any()
    try:
        saved = save_stores(
            session,
            parsed.values(),
            title=title,
            kind="import",
            by=imported_by,
            now=now,
            currency=currency,
            keep=kept,
        )
    except (InvalidItemError, PricingError) as error:
        for line in _refused_at_the_write(error, parsed, zones_before):
            parsed.problems.add(line, error.message)
        parsed.problems.raise_if_any()
        raise
    return parsed.report(
        "stores",
        inserted=saved.inserted,
        updated=saved.updated,
        publication_id=saved.publication_id,
    )


def _refused_at_the_write(
    error: InvalidItemError | PricingError,
    parsed: ParsedRows[str, Store],
    zones_before: Mapping[str, str | None],
) -> list[int]:
    """The lines of the file a refusal of its write is about (none: it names none of them,
    and is answered as it is). A store's opening refused under the lock names the store; a
    price rule left naming a zone with no store, the stores the file moves out of it; a
    promotion the moves and openings would make meet a price it may not, every store
    the file moves or opens (the engine checks them together, and stops at its first
    objection)."""
    moved_or_opened = {
        code: line
        for code, (line, store) in parsed.by_key.items()
        if code not in zones_before or zones_before[code] != store.zone
    }
    if isinstance(error, InvalidItemError):
        named = error.fields.get("store")
        return (
            [parsed.by_key[named][0]] if isinstance(named, str) and named in parsed.by_key else []
        )
    if isinstance(error, UnknownReferenceError) and error.kind == "zone":
        return sorted(
            line
            for code, line in moved_or_opened.items()
            if code in zones_before and zones_before[code] == error.id
        )
    return sorted(moved_or_opened.values())
