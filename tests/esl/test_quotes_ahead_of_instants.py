"""A quote for a later instant says what the shelf will say then: the prices scheduled to
start before that instant are in its 30-day prior price, although the ledger records
them only when their instants arrive (SQLite, and PostgreSQL when configured).

Before, `GET /quote?at=` resolved any instant against the ledger as recorded up to now
(and the entries written ahead of publications effective later): asked on day -3 for day
0, the web shop was told 7.20 against a prior 10.00, "-28 %", while on day 0 the same
quote and the S01 label say 7.20 against 8.00, "-10 %" (docs/pricing.md, *A quote for a
later instant*).

Day -90: CHS-1 costs 10.00 everywhere. Day -3: S01 gets its own 8.00 from day -1, and a
10 % promotion from day 0 is published.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, select

from esl.db.engine import session_factory
from esl.db.models import LedgerEntryRow
from esl.imports import import_prices
from esl.services.ledger_instants import record_due_instants
from tests.support.api import Api
from tests.support.database import START
from tests.support.pipeline import publish

T0 = START + timedelta(days=100)
SCHEDULINGS = ["published_ahead", "price_file_valid_from"]


def day(n: float) -> datetime:
    return T0 + timedelta(days=n)


def _s01_own_price_from_day_minus_1(seeded: Engine, how: str) -> None:
    """Day -3: S01's own 8.00 from day -1, published ahead or in a price file's row."""
    if how == "published_ahead":
        publish(
            session_factory(seeded),
            [{"action": "set_price", "sku": "CHS-1", "amount": "8.00", "store": "S01"}],
            now=day(-3),
            effective_at=day(-1),
        )
        return
    with session_factory(seeded).begin() as session:
        import_prices(
            session,
            "sku,scope,channel,store_or_zone,price,currency,valid_from,valid_until\n"
            f"CHS-1,store,,S01,8.00,PLN,{day(-1).isoformat()},\n",
            currency="PLN",
            imported_by="test",
            now=day(-3),
        )


def _ten_off_from_day_0(seeded: Engine) -> None:
    item = {
        "action": "upsert_promotion",
        "promotion_id": "TEN",
        "kind": "percent_off",
        "percent": "10",
        "skus": ["CHS-1"],
        "valid_from": day(0).isoformat(),
    }
    publish(session_factory(seeded), [item], now=day(-3))


def _quote(api: Api, at: datetime, store: str = "S01") -> dict[str, Any]:
    answer = api.client.get(
        "/api/v1/quote",
        params={"sku": "CHS-1", "store": store, "at": at.isoformat()},
        headers=api.headers("auditor"),
    )
    assert answer.status_code == 200, answer.text
    return {
        field: answer.json()[field]
        for field in ("price", "prior_price", "saving_percent", "announces_reduction")
    }


def _ledger(seeded: Engine) -> list[tuple[str, str, datetime, Decimal | None]]:
    with session_factory(seeded)() as session:
        rows = session.scalars(
            select(LedgerEntryRow).order_by(
                LedgerEntryRow.channel, LedgerEntryRow.store, LedgerEntryRow.effective_at
            )
        )
        return [(row.channel, row.store, row.effective_at, row.amount) for row in rows]


@pytest.mark.parametrize("how", SCHEDULINGS)
def test_a_quote_for_day_0_asked_on_day_minus_3_has_the_prior_price_the_shelf_will_print(
    api: Api, seeded: Engine, how: str
) -> None:
    publish(
        session_factory(seeded),
        [{"action": "set_price", "sku": "CHS-1", "amount": "10.00"}],
        now=day(-90),
    )
    _s01_own_price_from_day_minus_1(seeded, how)
    _ten_off_from_day_0(seeded)
    api.clock.now = day(-3)
    recorded = _ledger(seeded)

    ahead = _quote(api, day(0) + timedelta(hours=1))
    # S02 never had a price of its own: 9.00 against 10.00 is a reduction of 10 %.
    other_store = _quote(api, day(0) + timedelta(hours=1), "S02")

    assert _ledger(seeded) == recorded  # a quote writes nothing
    # Day 0, one hour in: the controller has recorded both instants.
    api.clock.now = day(0) + timedelta(hours=1)
    with session_factory(seeded).begin() as session:
        record_due_instants(session, now=api.clock.now, currency="PLN")
    then = _quote(api, api.clock.now)
    assert then == {
        "price": "7.20",
        "prior_price": "8.00",
        "saving_percent": "10",
        "announces_reduction": True,
    }
    assert ahead == then  # before: prior 10.00, -28 %
    assert other_store == _quote(api, api.clock.now, "S02")
    assert (other_store["prior_price"], other_store["saving_percent"]) == ("10.00", "10")


def test_a_quote_ahead_of_a_store_price_ending_sees_the_end(api: Api, seeded: Engine) -> None:
    """S01's own 12.00 ends on day -1 (it follows the nation's 10.00 again): a 10 % promotion
    from day 0, quoted on day -3, is 9.00 against a prior 10.00 (-10 %), not 12.00 (-25 %)."""
    publish(
        session_factory(seeded),
        [{"action": "set_price", "sku": "CHS-1", "amount": "10.00"}],
        now=day(-90),
    )
    publish(
        session_factory(seeded),
        [
            {
                "action": "set_price",
                "sku": "CHS-1",
                "amount": "12.00",
                "store": "S01",
                "valid_until": day(-1).isoformat(),
            }
        ],
        now=day(-40),
    )
    _ten_off_from_day_0(seeded)
    api.clock.now = day(-3)
    assert _quote(api, day(0) + timedelta(hours=1)) == {
        "price": "9.00",
        "prior_price": "10.00",
        "saving_percent": "10",
        "announces_reduction": True,
    }
