"""The ledger beside what the engine says applied: the price in force at an instant in
each, read from the stored rows (a test's oracle for writes that must enter the ledger)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, select

from esl.db.engine import session_factory
from esl.db.models import LedgerEntryRow
from esl.services.ledger_instants import record_due_instants
from esl.services.quotes import quote
from pricing.errors import NoApplicablePriceError
from tests.support.database import START
from tests.support.pipeline import publish

T0 = START + timedelta(days=100)
STORES = ("S01", "S02", "S03")
CHANNELS = ("store", "web", "app")


def day(n: float) -> datetime:
    return T0 + timedelta(days=n)


def pub(
    engine: Engine, items: list[Any], *, now: datetime, effective_at: datetime | None = None
) -> int:
    return publish(session_factory(engine), items, now=now, effective_at=effective_at)


def arrive(engine: Engine, at: datetime) -> int:
    with session_factory(engine).begin() as session:
        return record_due_instants(session, now=at, currency="PLN")


def walk(
    engine: Engine, start: datetime, end: datetime, step: timedelta = timedelta(hours=6)
) -> None:
    t = start
    while t <= end:
        arrive(engine, t)
        t += step


def ledger_price(engine: Engine, sku: str, channel: str, store: str, at: datetime) -> Any:
    """The entry in force at `at`: (amount, promotion) or 'none' (no entry) or None (withdrawn)."""
    with session_factory(engine)() as session:
        row = session.scalars(
            select(LedgerEntryRow)
            .where(
                LedgerEntryRow.sku == sku,
                LedgerEntryRow.channel == channel,
                LedgerEntryRow.store == store,
                LedgerEntryRow.effective_at <= at,
            )
            .order_by(LedgerEntryRow.effective_at.desc())
            .limit(1)
        ).first()
        if row is None:
            return "none"
        return row.amount


def engine_price(
    engine: Engine, sku: str, channel: str, store: str, at: datetime, now: datetime
) -> Any:
    with session_factory(engine)() as session:
        try:
            resolved = quote(
                session,
                sku=sku,
                store=store,
                channel=channel,
                at=at,
                now=now,
                locale="pl_PL",
                currency="PLN",
            )
        except NoApplicablePriceError:
            return None
        return resolved.price.amount


def disagreements(
    engine: Engine,
    skus: tuple[str, ...],
    times: list[datetime],
    *,
    now: datetime,
    stores: tuple[str, ...] = STORES,
    channels: tuple[str, ...] = CHANNELS,
) -> list[tuple[str, str, str, datetime, Any, Any]]:
    found = []
    for sku in skus:
        for store in stores:
            for channel in channels:
                for at in times:
                    led = ledger_price(engine, sku, channel, store, at)
                    eng = engine_price(engine, sku, channel, store, at, now)
                    if led == "none" and eng is None:
                        continue
                    if led != eng:
                        found.append((sku, channel, store, at, led, eng))
    return found


def rows(
    engine: Engine, sku: str, channel: str = "store", store: str = "S01"
) -> list[tuple[datetime, Decimal | None, str, str | None]]:
    with session_factory(engine)() as session:
        return [
            (r.effective_at, r.amount, r.source, r.promotion_id)
            for r in session.scalars(
                select(LedgerEntryRow)
                .where(
                    LedgerEntryRow.sku == sku,
                    LedgerEntryRow.channel == channel,
                    LedgerEntryRow.store == store,
                )
                .order_by(LedgerEntryRow.effective_at)
            )
        ]
