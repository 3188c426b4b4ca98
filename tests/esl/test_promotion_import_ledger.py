"""A promotion file records the prices it changes in the ledger, as a publication does:
the 30-day prior price of a later reduction must see what the promotion charged."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine, select

from esl.db.engine import session_factory
from esl.db.models import LedgerEntryRow, PromotionRow
from esl.errors import ImportRejectedError
from esl.imports import import_prices, import_promotions
from esl.services.quotes import quote
from tests.support.database import START

HEADER = "id,name,kind,skus,percent,valid_from,valid_until\n"


def _promotions(engine: Engine, rows: str, *, now: datetime) -> int | None:
    with session_factory(engine)() as session, session.begin():
        report = import_promotions(
            session, HEADER + rows, currency="PLN", imported_by="test", now=now
        )
    return report.publication_id


def _coffee_since(engine: Engine, now: datetime) -> None:
    with session_factory(engine)() as session, session.begin():
        import_prices(
            session,
            "sku,scope,price,currency\nCFE-1,national,59.99,PLN\n",
            currency="PLN",
            imported_by="test",
            now=now,
        )


def test_a_promotion_file_records_its_prices_and_a_later_reduction_sees_them(
    seeded: Engine,
) -> None:
    _coffee_since(seeded, START - timedelta(days=20))
    ended = (START - timedelta(days=5)).isoformat()
    first = _promotions(
        seeded, f"A,Kawa -20%,percent_off,CFE-1,20,,{ended}\n", now=START - timedelta(days=10)
    )
    with session_factory(seeded)() as session:
        entries = session.scalars(
            select(LedgerEntryRow).where(LedgerEntryRow.publication_id == first)
        ).all()
    # Each store's shelf, and the web and app listings: 59.99 - 20 %.
    assert {(e.sku, e.channel, e.store) for e in entries if e.channel == "store"} == {
        ("CFE-1", "store", store) for store in ("S01", "S02", "S03")
    }
    assert {(e.amount, e.promotion_id) for e in entries} == {(Decimal("47.99"), "A")}

    _promotions(seeded, "B,Kawa -10%,percent_off,CFE-1,10,,\n", now=START)
    with session_factory(seeded)() as session:
        resolved = quote(
            session,
            sku="CFE-1",
            store="S01",
            channel="store",
            at=START,
            now=START,
            locale="pl_PL",
            currency="PLN",
        )
    assert resolved.price.amount == Decimal("53.99")
    # A's 47.99 applied within the 30 days before B began: that is the prior price.
    assert resolved.prior_price is not None
    assert resolved.prior_price.amount == Decimal("47.99")


@pytest.mark.parametrize(
    ("header", "targets"), [("skus", "CFE-1"), ("categories", "coffee")], ids=["sku", "category"]
)
def test_a_promotion_file_that_would_rewrite_the_ledger_is_refused_whole(
    seeded: Engine, header: str, targets: str
) -> None:
    # A price file recorded CFE-1's price at this very instant: a promotion from it would be
    # a second entry of each key there. (A price published ahead for tomorrow is no such
    # conflict: its entries are plans, planned again with the file;
    # test_prices_published_ahead.py.)
    _coffee_since(seeded, START)
    # The refused promotion is the second row, whether it names its SKU or its category.
    with pytest.raises(ImportRejectedError) as rejected, session_factory(seeded)() as session:
        import_promotions(
            session,
            f"id,name,kind,{header},percent\n"
            f"D,Nabiał -5%,percent_off,{'dairy' if header == 'categories' else 'MLK-1'},5\n"
            f"C,Kawa -20%,percent_off,{targets},20\n",
            currency="PLN",
            imported_by="test",
            now=START,
        )
    assert {problem["line"] for problem in rejected.value.problems} == {3}  # a key each
    assert all("CFE-1" in str(problem["reason"]) for problem in rejected.value.problems)
    with session_factory(seeded)() as session:
        assert session.get(PromotionRow, "C") is None
