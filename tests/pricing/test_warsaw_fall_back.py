"""Instants written in Europe/Warsaw across the October fall-back hour.

docs/pricing.md: the engine takes instants "whatever zone the instant is written in";
the 30 days are elapsed time. On 25 Oct 2026 Warsaw's wall clock runs 02:00-03:00 twice:
02:40 (CEST, fold=0) is 00:40 UTC, 02:20 (CET, fold=1) is 01:20 UTC, 40 minutes later.
Python compares two datetimes that share one tzinfo object by wall clock, ignoring fold,
so the engine keeps instants in UTC (pricing/windows.py `in_utc`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from pricing import (
    Channel,
    LedgerEntry,
    PriceKey,
    PriceLedger,
    PriceRule,
)
from tests.strategies import pln
from tests.support.pricing import fixed_price_sale, pln_catalogue, shelf_price

WARSAW = ZoneInfo("Europe/Warsaw")
KEY = PriceKey("A", Channel.STORE, "S1")
EARLIER = datetime(2026, 10, 25, 2, 40, tzinfo=WARSAW, fold=0)  # 00:40 UTC
LATER = datetime(2026, 10, 25, 2, 20, tzinfo=WARSAW, fold=1)  # 01:20 UTC


def test_the_instants_are_forty_minutes_apart() -> None:
    assert (LATER.astimezone(UTC) - EARLIER.astimezone(UTC)).total_seconds() == 2400


def test_the_ledger_accepts_an_entry_forty_minutes_after_the_last_one() -> None:
    ledger = PriceLedger([LedgerEntry(KEY, EARLIER, pln(700), pln(700))])
    ledger.append(LedgerEntry(KEY, LATER, pln(1000), pln(1000)))  # LedgerOrderError today
    assert ledger.entry_at(KEY, LATER).price == pln(1000)


def test_a_promotion_that_started_forty_minutes_ago_applies() -> None:
    sale = fixed_price_sale("sale", pln(800), valid_from=EARLIER)
    catalogue = pln_catalogue([PriceRule(id="r", sku="A", amount=pln(1000))], [sale])
    in_utc = shelf_price(catalogue, at=LATER.astimezone(UTC), ledger=PriceLedger())
    in_warsaw = shelf_price(catalogue, at=LATER, ledger=PriceLedger())
    assert in_utc.price == pln(800)
    assert in_warsaw.price == in_utc.price  # 10.00 today: the promotion "has not started"


def test_a_promotion_over_the_repeated_hour_is_not_an_empty_window() -> None:
    # 02:40 CEST to 02:20 CET is 40 minutes; by wall clock it "ends before it starts".
    sale = fixed_price_sale("hour", pln(800), valid_from=EARLIER, valid_until=LATER)
    assert (sale.valid_from, sale.valid_until) == (EARLIER.astimezone(UTC), LATER.astimezone(UTC))
