"""Opening stores reads the ledger of no other store. 9d14c6e recorded a new store's
prices by pricing it on its own, once per store opened, over every store's history of
every SKU: on a chain of 5,000 SKUs x 20 stores (306,100 entries, SQLite) a store file
opening 8 stores took 38 s, where pricing the opened stores' keys takes a few. A key's
price needs its own history only, and a store just opened has none, so the rows read
are counted here rather than the time taken: the moved stores' own, nothing for the
opened ones, and one pass over the catalogue for all of them."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, event, func, select

from esl.db.engine import session_factory
from esl.db.models import LedgerEntryRow
from esl.imports import import_prices
from esl.imports.stores import import_stores
from tests.support.database import START

DAYS = 12  # a price change a day in every store: the chain's history
OPENED_AT = START + timedelta(days=DAYS)


def _history(engine: Engine) -> None:
    """National, north-zone and S03 prices of the three products, changed every day."""
    for day in range(DAYS):
        cents = f"{day:02d}"
        with session_factory(engine)() as session, session.begin():
            import_prices(
                session,
                "sku,scope,store_or_zone,price,currency\n"
                f"MLK-1,national,,3.{cents},PLN\nCHS-1,national,,8.{cents},PLN\n"
                f"CFE-1,national,,59.{cents},PLN\nMLK-1,zone,north,3.5{day % 10},PLN\n"
                f"CFE-1,store,S03,58.{cents},PLN\n",
                currency="PLN",
                imported_by="test",
                now=START + timedelta(days=day),
            )


@contextmanager
def _reads(engine: Engine) -> Iterator[Counter[str]]:
    """Per table (ledger_entries, price_rules): the rows the SELECTs on it returned, and
    how many SELECTs read it (key '<table> reads'). Each SELECT is run again on its own
    cursor to count its rows, leaving the caller's result as it was."""

    read: Counter[str] = Counter()

    def count(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if not statement.lstrip().upper().startswith("SELECT"):
            return
        if "max(ledger_entries.recorded_at)" in statement:
            return  # the newest entry recorded, which every price writer reads: one row
        for table in ("ledger_entries", "price_rules"):
            if re.search(rf"\bFROM {table}\b", statement):
                again = conn.connection.cursor()
                again.execute(statement, parameters)
                read[table] += len(again.fetchall())
                read[f"{table} reads"] += 1
                again.close()

    event.listen(engine, "after_cursor_execute", count)
    try:
        yield read
    finally:
        event.remove(engine, "after_cursor_execute", count)


def _ledger_rows(engine: Engine, store: str) -> int:
    with session_factory(engine)() as session:
        count = session.scalar(
            select(func.count()).select_from(LedgerEntryRow).where(LedgerEntryRow.store == store)
        )
    assert count is not None
    return count


@pytest.mark.parametrize("moved", [None, "S02"])
def test_opening_stores_reads_no_other_stores_ledger(seeded: Engine, moved: str | None) -> None:
    _history(seeded)
    moved_history = _ledger_rows(seeded, moved) if moved else 0
    assert _ledger_rows(seeded, "S01") == 3 * 3 * DAYS  # three SKUs, three channels, each day
    rows = "N10,Nowy 10,north,\nN11,Nowy 11,north,\nN12,Nowy 12,south,\n"
    if moved:
        rows += f"{moved},Gdynia,south,\n"  # from north, in the same file
    with _reads(seeded) as read, session_factory(seeded)() as session, session.begin():
        report = import_stores(
            session,
            "code,name,zone,time_zone\n" + rows,
            imported_by="test",
            now=OPENED_AT,
            currency="PLN",
        )
    assert (report.inserted, report.updated) == (3, 1 if moved else 0)
    # The moved store's own history only (before: every store's, once per store saved).
    assert read["ledger_entries"] == moved_history
    # One pass over the catalogue for every store saved (before: one per store).
    assert read["price_rules reads"] == 1
    # Each opened store in the ledger from its opening, at its zone's prices.
    with session_factory(seeded)() as session:
        opened = {
            (row.store, row.sku, row.channel): row.amount
            for row in session.scalars(
                select(LedgerEntryRow).where(LedgerEntryRow.effective_at == OPENED_AT)
            )
        }
    last = DAYS - 1
    for store, milk in (("N10", "3.51"), ("N11", "3.51"), ("N12", f"3.{last:02d}")):
        for channel in ("store", "web", "app"):
            assert opened[(store, "MLK-1", channel)] == Decimal(milk)
            assert opened[(store, "CFE-1", channel)] == Decimal(f"59.{last:02d}")
    if moved:
        # Moved from north to south: its milk at the national price from then on.
        assert opened[(moved, "MLK-1", "store")] == Decimal(f"3.{last:02d}")
        assert (moved, "CFE-1", "store") not in opened  # unchanged by the move
