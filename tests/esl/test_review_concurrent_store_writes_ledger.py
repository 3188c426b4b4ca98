"""Review (failing, PostgreSQL): two store writers at once, one moving S01 to the south
zone, the other (reading S01 while the move is not committed) renaming it with its zone as
it read it. The second sees no move, so it takes no price writers' lock and writes no
ledger entry, and its row, written once the move commits, puts S01 back in the north: the
shelf charges the north price again while the ledger keeps the south one.

CHS-1 costs 10.00 in the north and 11.00 in the south.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

from sqlalchemy import Engine, text

from esl.db.engine import session_factory
from esl.imports.stores import import_stores
from tests.esl.review_ledger_oracle import day, engine_price, ledger_price, pub
from tests.support.database import ON_POSTGRESQL
from tests.support.waiting import until


def _store_file(engine: Engine, line: str, *, at_day: float) -> None:
    with session_factory(engine).begin() as session:
        import_stores(
            session,
            f"code,name,zone,time_zone\n{line}\n",
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


@ON_POSTGRESQL
async def test_a_store_written_back_into_its_zone_by_a_concurrent_writer_enters_the_ledger(
    seeded: Engine,
) -> None:
    pub(
        seeded,
        [
            {"action": "set_price", "sku": "CHS-1", "amount": "10.00"},
            {"action": "set_price", "sku": "CHS-1", "amount": "11.00", "zone": "south"},
        ],
        now=day(-60),
    )
    # A store renamed once has its versions (the first of them since ever).
    _store_file(seeded, "S01,Gdańsk-Oliwa,north,", at_day=-30)
    sessions = session_factory(seeded)
    with sessions.begin() as writer_a:
        # A moves S01 to the south and has not committed yet ...
        import_stores(
            writer_a,
            "code,name,zone,time_zone\nS01,Gdańsk Oliwa,south,\n",
            imported_by="a",
            now=day(0),
            currency="PLN",
        )
        # ... when B renames S01, north as it reads it, and waits for A's row.
        renaming = asyncio.create_task(
            asyncio.to_thread(_store_file, seeded, "S01,Gdańsk Oliwa 2,north,", at_day=0.01)
        )
        await until(lambda: _waiting_for_a_lock(seeded), what="B waits for A's row", timeout_s=10)
    await renaming
    at = day(1)
    # The shelf charges the north price again (the engine over the record) ...
    assert engine_price(seeded, "CHS-1", "store", "S01", at, now=day(2)) == Decimal("10.00")
    # ... and the ledger should say so.
    assert ledger_price(seeded, "CHS-1", "store", "S01", at) == Decimal("10.00")
