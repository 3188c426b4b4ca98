"""Migration 0043 on an existing database: `ledger_entries` gets `card_amount`, what
loyalty-card holders paid (for a card price's 30-day low), NULL for every row stored
then (no card price known: card holders are taken to have paid the price), read back as
an entry without a card price; a downgrade takes the column away. SQLite always,
PostgreSQL when configured."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from sqlalchemy import Engine, inspect, text

from esl.db.engine import migrations_config, session_factory, upgrade_database
from esl.db.repositories import load_key_ledger
from pricing import Money, PriceKey
from pricing.products import Channel

AT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _has_column(engine: Engine) -> bool:
    return "card_amount" in {c["name"] for c in inspect(engine).get_columns("ledger_entries")}


def test_entries_stored_before_have_no_card_price(seeded: Engine) -> None:
    command.downgrade(migrations_config(seeded), "0042")
    assert not _has_column(seeded)
    with session_factory(seeded)() as session, session.begin():
        session.execute(
            text(
                "INSERT INTO ledger_entries (sku, channel, store, effective_at, amount,"
                " regular_amount, currency, source, recorded_at) VALUES ('MLK-1', 'store', 'S01',"
                " :at, '12.99', '12.99', 'PLN', 'history', :at)"
            ),
            {"at": AT},
        )

    upgrade_database(seeded)

    assert _has_column(seeded)
    key = PriceKey("MLK-1", Channel.STORE, "S01")
    with session_factory(seeded)() as session:
        (entry,) = load_key_ledger(session, key).entries(key)
        assert (entry.price, entry.card_price) == (Money.of("12.99", "PLN"), None)
