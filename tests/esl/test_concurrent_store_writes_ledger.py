"""Two store writers at once (PostgreSQL, where the second waits for the first's row):
one moving S01 to the south zone, the other (reading S01 while the move is not committed)
renaming it. Every write that changes a store takes the price writers' lock and reads the
stored stores again under it, so a zone written as it was read moves S01 back with its
ledger entry (before, the shelf charged the north price again while the ledger kept the
south one), and a file without a zone column leaves S01 where the move put it.

CHS-1 costs 10.00 in the north and 11.00 in the south.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

from sqlalchemy import Engine, select, text

from esl.db.engine import session_factory
from esl.db.models import StoreRow, StoreVersionRow
from esl.imports.stores import import_stores
from tests.support.database import ON_POSTGRESQL
from tests.support.ledger_oracle import day, engine_price, ledger_price, pub
from tests.support.waiting import until


def _store_file(
    engine: Engine, line: str, *, at_day: float, header: str = "code,name,zone,time_zone"
) -> None:
    with session_factory(engine).begin() as session:
        import_stores(
            session,
            f"{header}\n{line}\n",
            imported_by="test",
            now=day(at_day),
            currency="PLN",
        )


def _waiting_for_a_lock(engine: Engine) -> bool:
    with engine.connect() as connection:
        return bool(
            connection.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE wait_event_type = 'Lock' AND datname = current_database()"
                )
            )
        )


async def _renamed_during_a_move(engine: Engine, line: str, header: str) -> None:
    """A moves S01 to the south and, before it commits, B writes `line` (under `header`),
    reading S01 in the north and waiting for A's row."""
    with session_factory(engine).begin() as writer_a:
        import_stores(
            writer_a,
            "code,name,zone,time_zone\nS01,Gdańsk Oliwa,south,\n",
            imported_by="a",
            now=day(0),
            currency="PLN",
        )
        renaming = asyncio.create_task(
            asyncio.to_thread(_store_file, engine, line, at_day=0.01, header=header)
        )
        await until(lambda: _waiting_for_a_lock(engine), what="B waits for A", timeout_s=10)
    await renaming


def _store(engine: Engine) -> tuple[str, str | None, int]:
    """S01's name and zone, and how many versions it has."""
    with session_factory(engine)() as session:
        row = session.get(StoreRow, "S01")
        assert row is not None
        versions = session.scalars(
            select(StoreVersionRow).where(StoreVersionRow.store == "S01")
        ).all()
        return row.name, row.zone, len(versions)


def _prices(engine: Engine) -> None:
    pub(
        engine,
        [
            {"action": "set_price", "sku": "CHS-1", "amount": "10.00"},
            {"action": "set_price", "sku": "CHS-1", "amount": "11.00", "zone": "south"},
        ],
        now=day(-60),
    )


@ON_POSTGRESQL
async def test_a_store_written_back_into_its_zone_by_a_concurrent_writer_enters_the_ledger(
    seeded: Engine,
) -> None:
    _prices(seeded)
    # A store renamed once has its versions (the first of them since ever).
    _store_file(seeded, "S01,Gdańsk-Oliwa,north,", at_day=-30)
    await _renamed_during_a_move(seeded, "S01,Gdańsk Oliwa 2,north,", "code,name,zone,time_zone")
    at = day(1)
    # The shelf charges the north price again (the engine over the record) ...
    assert engine_price(seeded, "CHS-1", "store", "S01", at, now=day(2)) == Decimal("10.00")
    # ... and the ledger says so.
    assert ledger_price(seeded, "CHS-1", "store", "S01", at) == Decimal("10.00")


@ON_POSTGRESQL
async def test_a_store_never_versioned_written_back_by_a_concurrent_writer_is_written(
    seeded: Engine,
) -> None:
    """S01 as seeded has no version: both writers record its first one, since ever; B,
    reading the versions once A committed, adds none twice (before: a duplicate row, B's
    write lost to an error)."""
    _prices(seeded)
    await _renamed_during_a_move(seeded, "S01,Gdańsk Oliwa 2,north,", "code,name,zone,time_zone")
    # Since ever, A's move and B's rename.
    assert _store(seeded) == ("Gdańsk Oliwa 2", "north", 3)
    at = day(1)
    assert engine_price(seeded, "CHS-1", "store", "S01", at, now=day(2)) == Decimal("10.00")
    assert ledger_price(seeded, "CHS-1", "store", "S01", at) == Decimal("10.00")


@ON_POSTGRESQL
async def test_a_store_file_without_zones_leaves_a_store_in_the_zone_a_concurrent_move_gave_it(
    seeded: Engine,
) -> None:
    """A file of names keeps every store's zone as stored: as stored when it writes, not
    as it read it before another writer moved the store."""
    _prices(seeded)
    _store_file(seeded, "S01,Gdańsk-Oliwa,north,", at_day=-30)
    await _renamed_during_a_move(seeded, "S01,Gdańsk Oliwa 2", "code,name")
    assert _store(seeded)[:2] == ("Gdańsk Oliwa 2", "south")
    at = day(1)
    assert engine_price(seeded, "CHS-1", "store", "S01", at, now=day(2)) == Decimal("11.00")
    assert ledger_price(seeded, "CHS-1", "store", "S01", at) == Decimal("11.00")
