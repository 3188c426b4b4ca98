"""A price or promotion file writes each chunk of SKUs' ledger entries as soon as they are
planned, in bounded batches, and still all or nothing.

A chain's price file (20,000 SKUs in 50 stores) plans 3,000,000 entries: gathered whole
and written at the end, they held 2.6 GB. The chunks here are one SKU each, so three SKUs
show what 2,000-SKU chunks of a chain do; the batches four rows."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, event, func, select

from esl.db.engine import session_factory
from esl.db.models import (
    LedgerEntryRow,
    PlanningQueueRow,
    PriceRuleRow,
    PromotionRow,
    PublicationRow,
)
from esl.errors import ImportRejectedError
from esl.imports import import_prices, import_promotions
from esl.imports import prices as price_import
from esl.imports import promotions as promotion_import
from esl.services import ledger_recording
from tests.support.database import START

PRICES = "sku,scope,price,currency\n"
PROMOTIONS = "id,name,kind,skus,percent\n"
# Three SKUs in three stores, three channels each: nine keys a SKU.
KEYS_PER_SKU = 9


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(price_import, "ENGINE_CHUNK", 1)
    monkeypatch.setattr(promotion_import, "LEDGER_CHUNK", 1)
    monkeypatch.setattr(ledger_recording, "WRITE_BATCH", 4)


@contextmanager
def _statements(engine: Engine) -> Iterator[list[tuple[str, int]]]:
    """The statements run meanwhile, in order: ("ledger", rows) for each insert into the
    ledger, ("catalogue", 0) for each read of a chunk's price rules."""
    seen: list[tuple[str, int]] = []

    def before(
        conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool
    ) -> None:
        text = " ".join(statement.split()).lower()
        if text.startswith("insert into ledger_entries"):
            seen.append(("ledger", len(parameters) if many else 1))
        elif text.startswith("select") and "from price_rules where price_rules.sku in" in text:
            seen.append(("catalogue", 0))

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", before)


def _written_before_the_last_read(seen: list[tuple[str, int]]) -> bool:
    last_read = max(i for i, (kind, _) in enumerate(seen) if kind == "catalogue")
    return any(kind == "ledger" for kind, _ in seen[:last_read])


def _prices(engine: Engine, rows: str, *, minutes: int = 0) -> int | None:
    with session_factory(engine)() as session, session.begin():
        report = import_prices(
            session,
            PRICES + rows,
            currency="PLN",
            imported_by="test",
            now=START + timedelta(minutes=minutes),
        )
    return report.publication_id


def _promotions(engine: Engine, rows: str, *, minutes: int) -> int | None:
    with session_factory(engine)() as session, session.begin():
        report = import_promotions(
            session,
            PROMOTIONS + rows,
            currency="PLN",
            imported_by="test",
            now=START + timedelta(minutes=minutes),
        )
    return report.publication_id


def _counts(engine: Engine) -> dict[str, int]:
    with session_factory(engine)() as session:
        return {
            row.__tablename__: session.scalar(select(func.count()).select_from(row)) or 0
            for row in (LedgerEntryRow, PriceRuleRow, PromotionRow, PublicationRow)
        } | {"planning_queue": session.scalar(select(func.count(PlanningQueueRow.publication_id)))}


def test_a_price_file_writes_each_chunks_entries_before_planning_the_next(
    seeded: Engine, small_chunks: None
) -> None:
    with _statements(seeded) as seen:
        publication_id = _prices(
            seeded, "CFE-1,national,59.99,PLN\nCHS-1,national,8.49,PLN\nMLK-1,national,3.49,PLN\n"
        )
    assert _written_before_the_last_read(seen)
    batches = [rows for kind, rows in seen if kind == "ledger"]
    assert max(batches) <= 4
    assert sum(batches) == 3 * KEYS_PER_SKU
    with session_factory(seeded)() as session:
        publication = session.get(PublicationRow, publication_id)
        assert publication is not None
        # The impact still counts every chunk.
        assert publication.impact["ledger_entries"] == 3 * KEYS_PER_SKU
        assert publication.impact["prices_changed"] == 3 * KEYS_PER_SKU
        assert (
            session.scalar(
                select(func.count()).where(LedgerEntryRow.publication_id == publication_id)
            )
            == 3 * KEYS_PER_SKU
        )


def test_a_price_file_refused_at_its_last_chunk_leaves_nothing(
    seeded: Engine, small_chunks: None
) -> None:
    # MLK-1's price was recorded at this very instant: a second entry there is refused.
    _prices(seeded, "MLK-1,national,3.49,PLN\n")
    before = _counts(seeded)
    with _statements(seeded) as seen, pytest.raises(ImportRejectedError) as rejected:
        _prices(
            seeded, "CFE-1,national,59.99,PLN\nCHS-1,national,8.49,PLN\nMLK-1,national,3.59,PLN\n"
        )
    # CFE-1's and CHS-1's entries were written before MLK-1's chunk was planned...
    assert _written_before_the_last_read(seen)
    assert {problem["line"] for problem in rejected.value.problems} == {4}
    # ...and went with the rest of the file.
    assert _counts(seeded) == before


def test_a_promotion_file_writes_each_chunks_entries_before_planning_the_next(
    seeded: Engine, small_chunks: None
) -> None:
    _prices(seeded, "CFE-1,national,59.99,PLN\nCHS-1,national,8.49,PLN\nMLK-1,national,3.49,PLN\n")
    with _statements(seeded) as seen:
        publication_id = _promotions(
            seeded, "C,Kawa -20%,percent_off,CFE-1|CHS-1|MLK-1,20\n", minutes=1
        )
    assert _written_before_the_last_read(seen)
    batches = [rows for kind, rows in seen if kind == "ledger"]
    assert max(batches) <= 4
    assert sum(batches) == 3 * KEYS_PER_SKU
    with session_factory(seeded)() as session:
        publication = session.get(PublicationRow, publication_id)
        assert publication is not None
        assert publication.impact["ledger_entries"] == 3 * KEYS_PER_SKU
        promoted = session.scalars(
            select(LedgerEntryRow.promotion_id).where(
                LedgerEntryRow.publication_id == publication_id
            )
        ).all()
        assert set(promoted) == {"C"}


def test_a_promotion_file_refused_at_its_last_chunk_leaves_nothing(
    seeded: Engine, small_chunks: None
) -> None:
    _prices(seeded, "CFE-1,national,59.99,PLN\nCHS-1,national,8.49,PLN\n")
    # MLK-1's price was recorded a minute later: a promotion then is a second entry there.
    _prices(seeded, "MLK-1,national,3.49,PLN\n", minutes=1)
    before = _counts(seeded)
    with _statements(seeded) as seen, pytest.raises(ImportRejectedError) as rejected:
        _promotions(
            seeded,
            "C,Kawa -20%,percent_off,CFE-1|CHS-1,20\nM,Mleko -5%,percent_off,MLK-1,5\n",
            minutes=1,
        )
    assert _written_before_the_last_read(seen)
    assert {problem["line"] for problem in rejected.value.problems} == {3}
    assert _counts(seeded) == before
