"""A key that stops having a price gets a withdrawal in the ledger, and a relisted product
is then compared only with its prices since relisting (SQLite, and PostgreSQL when
configured).

10.00 until day -60, no price from day -60 to day -5, 12.00 from day -5, 9.00 on day 0:
the only price charged in the 30 days before the reduction is 12.00 (25 % off), not the
10.00 that was in force, as far as a ledger without withdrawals knew, when they began.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Engine, update
from sqlalchemy.exc import IntegrityError

from esl.db.engine import migrations_config, session_factory, upgrade_database
from esl.db.models import LedgerEntryRow
from esl.db.repositories.catalogue import load_catalogue_slice
from esl.db.repositories.ledger import load_key_ledger
from esl.services.ledger_instants import record_due_instants
from pricing import Channel, Money, PriceKey, due_prior_price
from tests.support.database import START
from tests.support.ledger import store_channel_entries
from tests.support.pipeline import publish

T0 = START + timedelta(days=100)
KEY = PriceKey("CHS-1", Channel.STORE, "S01")


def day(n: int) -> datetime:
    return T0 + timedelta(days=n)


def _set_price(amount: str, **more: Any) -> dict[str, Any]:
    return {"action": "set_price", "sku": "CHS-1", "amount": amount, **more}


def _prior_of_nine(seeded: Engine) -> Money | None:
    with session_factory(seeded)() as session:
        ledger = load_key_ledger(session, KEY)
        catalogue = load_catalogue_slice(session, ["CHS-1"], currency="PLN")
    due = due_prior_price(
        ledger,
        key=KEY,
        product=catalogue.products["CHS-1"],
        store=catalogue.stores[KEY.store],
        price=Money(Decimal("9.00"), "PLN"),
        at=T0,
    )
    return due.price if due is not None else None


def _shelf_entries(seeded: Engine) -> list[tuple[datetime, Decimal | None, str | None]]:
    return [(row.effective_at, row.amount, row.currency) for row in store_channel_entries(seeded)]


def test_a_price_ended_by_a_publication_is_recorded_as_withdrawn(seeded: Engine) -> None:
    sessions = session_factory(seeded)
    publish(sessions, [_set_price("10.00")], now=day(-90))
    publish(sessions, [{"action": "end_price", "sku": "CHS-1"}], now=day(-60))
    publish(sessions, [_set_price("12.00")], now=day(-5))
    assert _shelf_entries(seeded) == [
        (day(-90), Decimal("10.00"), "PLN"),
        (day(-60), None, None),
        (day(-5), Decimal("12.00"), "PLN"),
    ]
    assert _prior_of_nine(seeded) == Money(Decimal("12.00"), "PLN")


def test_a_price_that_ends_by_itself_is_recorded_as_withdrawn_when_it_ends(seeded: Engine) -> None:
    sessions = session_factory(seeded)
    publish(sessions, [_set_price("10.00", valid_until=day(-60).isoformat())], now=day(-90))
    with sessions.begin() as session:
        assert record_due_instants(session, now=day(-59), currency="PLN") > 0
    publish(sessions, [_set_price("12.00")], now=day(-5))
    assert [amount for _, amount, _ in _shelf_entries(seeded)] == [
        Decimal("10.00"),
        None,
        Decimal("12.00"),
    ]
    assert _prior_of_nine(seeded) == Money(Decimal("12.00"), "PLN")


@pytest.mark.parametrize("again", [False, True])
def test_a_withdrawal_is_written_once(seeded: Engine, again: bool) -> None:
    sessions = session_factory(seeded)
    publish(sessions, [_set_price("10.00")], now=day(-90))
    publish(sessions, [{"action": "end_price", "sku": "CHS-1"}], now=day(-60))
    if again:
        with sessions.begin() as session:
            record_due_instants(session, now=day(-50), currency="PLN")
    assert [amount for _, amount, _ in _shelf_entries(seeded)] == [Decimal("10.00"), None]


def test_migration_0022_round_trips_and_keeps_withdrawals_from_being_dropped(
    seeded: Engine,
) -> None:
    sessions = session_factory(seeded)
    publish(sessions, [_set_price("10.00")], now=day(-90))
    config = migrations_config(seeded)
    command.downgrade(config, "0021")  # only prices: nothing to lose
    with pytest.raises(IntegrityError), seeded.begin() as connection:
        connection.execute(update(LedgerEntryRow).values(amount=None))
    upgrade_database(seeded)
    publish(sessions, [{"action": "end_price", "sku": "CHS-1"}], now=day(-60))
    with pytest.raises(RuntimeError, match="withdrawal"):
        command.downgrade(config, "0021")
    # Read at the head: the refused step left the later ones undone (0043 added a column
    # to the ledger that the code reads).
    upgrade_database(seeded)
    assert [amount for _, amount, _ in _shelf_entries(seeded)] == [Decimal("10.00"), None]
