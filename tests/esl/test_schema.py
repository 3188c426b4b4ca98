"""The migrated schema is the models' schema, and values come back exactly as stored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError, StatementError

from esl.db.engine import session_factory
from esl.db.models import Base, ChannelRow, LedgerEntryRow, PriceRuleRow
from tests.support.database import START


def test_the_migrations_build_exactly_the_models(engine: Engine) -> None:
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []


def test_the_channels_are_seeded_by_the_migration(engine: Engine) -> None:
    with session_factory(engine)() as session:
        assert sorted(session.scalars(select(ChannelRow.code))) == ["app", "store", "web"]


def _milk_rule_row(rule_id: str, *, valid_from: datetime) -> PriceRuleRow:
    """A national 3.10 zł rule for milk from `valid_from`."""
    return PriceRuleRow(
        id=rule_id, sku="MLK-1", amount=Decimal("3.10"), currency="PLN", valid_from=valid_from
    )


def test_money_and_instants_come_back_exact_and_in_utc(seeded: Engine) -> None:
    warsaw = timezone(timedelta(hours=2))
    with session_factory(seeded)() as session, session.begin():
        session.add(_milk_rule_row("MLK-1#x", valid_from=datetime(2026, 5, 1, 0, 0, tzinfo=warsaw)))
    with session_factory(seeded)() as session:
        row = session.get(PriceRuleRow, "MLK-1#x")
        assert row is not None
        assert str(row.amount) == "3.10"
        assert row.valid_from == datetime(2026, 4, 30, 22, 0, tzinfo=UTC)
        assert row.valid_from is not None
        assert row.valid_from.tzinfo is UTC


def test_a_naive_instant_is_refused_before_it_reaches_the_database(seeded: Engine) -> None:
    with session_factory(seeded)() as session:
        session.add(_milk_rule_row("MLK-1#y", valid_from=datetime(2026, 5, 1)))  # naive on purpose
        with pytest.raises(StatementError, match="naive datetime"):
            session.flush()


def test_the_ledger_holds_one_price_per_key_and_instant(seeded: Engine) -> None:
    entry = {
        "sku": "MLK-1",
        "channel": "store",
        "store": "S01",
        "effective_at": START,
        "amount": Decimal("3.49"),
        "regular_amount": Decimal("3.49"),
        "currency": "PLN",
        "source": "history",
        "recorded_at": START,
    }
    with session_factory(seeded)() as session, session.begin():
        session.add(LedgerEntryRow(**entry))
    with pytest.raises(IntegrityError), session_factory(seeded)() as session, session.begin():
        session.add(LedgerEntryRow(**{**entry, "amount": Decimal("2.99")}))
