"""A store price published ahead, for a later window, after the same store price of an
earlier window that ends by itself before it: the later window is charged and recorded,
and its price is in the 30-day prior price of a reduction after it (SQLite, and
PostgreSQL when configured).

On day -45 S01 is priced 8.00 of its own until day -44, and the same 8.00 is published
ahead for day -20 until day -19; the nation pays 10.00. Before, the entry for day -20 was
planned against S01's ledger as it stood on day -45, which did not have the return to
10.00 on day -44 yet (recorded when that instant arrives): the 8.00 looked unchanged, no
entry was written, and nothing recorded it on day -20 either. The ledger said S01 charged
10.00 from day -44 on, and a 10 % promotion on day -5 (9.00) was quoted and labelled
"-10 %" with a prior price of 10.00, where 8.00 had been charged 15 days before.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import Engine

from esl.db.engine import session_factory
from esl.services.ledger_instants import record_due_instants
from esl.services.quotes import quote
from tests.support.database import START
from tests.support.ledger import store_channel_entries
from tests.support.pipeline import publish

T0 = START + timedelta(days=100)


def day(n: float) -> datetime:
    return T0 + timedelta(days=n)


def _s01_price(amount: str, until: datetime) -> dict[str, object]:
    return {
        "action": "set_price",
        "sku": "CHS-1",
        "amount": amount,
        "store": "S01",
        "valid_until": until.isoformat(),
    }


def _arrive(seeded: Engine, at: datetime) -> None:
    """The controller's look just after `at`."""
    with session_factory(seeded).begin() as session:
        record_due_instants(session, now=at + timedelta(minutes=1), currency="PLN")


def _s01_entries(seeded: Engine) -> list[tuple[datetime, Decimal | None]]:
    return [(row.effective_at, row.amount) for row in store_channel_entries(seeded)]


def _two_windows_of_8(seeded: Engine) -> None:
    sessions = session_factory(seeded)
    publish(sessions, [{"action": "set_price", "sku": "CHS-1", "amount": "10.00"}], now=day(-60))
    publish(sessions, [_s01_price("8.00", day(-44))], now=day(-45))
    publish(sessions, [_s01_price("8.00", day(-19))], now=day(-45), effective_at=day(-20))
    for instant in (day(-44), day(-20), day(-19)):
        _arrive(seeded, instant)


def test_the_later_window_is_recorded_when_it_starts_and_when_it_ends(seeded: Engine) -> None:
    _two_windows_of_8(seeded)
    assert [(at, amount) for at, amount in _s01_entries(seeded) if at >= day(-45)] == [
        (day(-45), Decimal("8.00")),
        (day(-44), Decimal("10.00")),
        (day(-20), Decimal("8.00")),
        (day(-19), Decimal("10.00")),
    ]


def test_a_reduction_after_it_is_measured_from_its_price(seeded: Engine) -> None:
    _two_windows_of_8(seeded)
    publish(
        session_factory(seeded),
        [
            {
                "action": "upsert_promotion",
                "promotion_id": "SER-10",
                "kind": "percent_off",
                "percent": "10",
                "skus": ["CHS-1"],
            }
        ],
        now=day(-5),
    )
    with session_factory(seeded)() as session:
        shelf = quote(
            session,
            sku="CHS-1",
            store="S01",
            channel="store",
            at=day(-4),
            now=day(-4),
            locale="pl_PL",
            currency="PLN",
        )
    assert shelf.price.amount == Decimal("9.00")
    assert shelf.prior_price is not None
    assert shelf.prior_price.amount == Decimal("8.00")
    assert not shelf.announces_reduction
