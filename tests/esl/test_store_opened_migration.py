"""Migration 0035 on an existing database: each store's opening is its first version's
instant, or its earliest imported shelf price when that is earlier (the history proves it
sold then); a store without versions stays open since ever. SQLite always, PostgreSQL
when configured."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from alembic import command
from sqlalchemy import Engine, insert, inspect, select

from esl.db.engine import migrations_config, session_factory, upgrade_database
from esl.db.models import LedgerEntryRow, StoreRow, StoreVersionRow, core_table
from tests.support.database import START


def _entry(
    store: str, at_days: int, source: str, channel: str = "store", *, withdrawn: bool = False
) -> dict[str, object]:
    # The columns the table had at 0034 only (later migrations add more, e.g. 0043's).
    price = None if withdrawn else Decimal("4.99")
    return {
        "sku": "CHS-1",
        "channel": channel,
        "store": store,
        "effective_at": START + timedelta(days=at_days),
        "amount": price,
        "regular_amount": price,
        "currency": None if withdrawn else "PLN",
        "source": source,
        "recorded_at": START + timedelta(days=30),
    }


def test_stores_get_their_first_version_or_earlier_imported_history(seeded: Engine) -> None:
    command.downgrade(migrations_config(seeded), "0034")
    assert "opened" not in {c["name"] for c in inspect(seeded).get_columns("stores")}
    with session_factory(seeded).begin() as session:
        # S01 created at day 10, its only earlier history a withdrawal (nothing charged);
        # S02 created at day 10 with shelf prices imported from day 0 (and web prices from
        # before: the web sells chain-wide); S03 written without versions.
        # The columns the table had at 0034 only (0049 adds `opened`).
        session.execute(
            insert(core_table(StoreVersionRow)),
            [
                {"store": store, "valid_from": START + timedelta(days=10), "name": store}
                for store in ("S01", "S02")
            ],
        )
        session.execute(
            insert(core_table(LedgerEntryRow)),
            [
                _entry("S01", 10, "store"),
                _entry("S01", 0, "history", withdrawn=True),
                _entry("S02", 10, "store"),
                _entry("S02", 0, "history"),
                _entry("S02", -5, "history", channel="web"),
            ],
        )

    upgrade_database(seeded)

    with session_factory(seeded)() as session:
        opened = {
            row.code: row.opened for row in session.execute(select(StoreRow.code, StoreRow.opened))
        }
    assert opened == {
        "S01": START + timedelta(days=10),
        "S02": START,
        "S03": None,
    }
