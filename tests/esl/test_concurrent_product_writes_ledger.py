"""Two product writers at once, one moving the cheese out of its promoted category, the
other (read before the move committed) writing it with its category as it read it. The
second's row puts the cheese back in the category, a move it cannot see in what it read:
every write that changes a product takes the price writers' lock and reads the stored
products again under it, so the move back enters the ledger (before, the shelf charged
the category promotion again while the ledger kept the regular price, and a later
reduction's 30-day low missed the promotion price charged meanwhile).

CHS-1 costs 10.00 (dairy); ALL-DAIRY, 2.00 off dairy, runs from day -1. On day 0 writer B
reads CHS-1 for a rename (category dairy as stored); writer A moves it to coffee and
commits; B writes its rename, dairy in the body, and commits.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from esl.db.engine import session_factory
from esl.db.mapping import product_from_row
from esl.db.models import ProductRow
from esl.errors import ConflictError
from esl.services.product_writes import PublishedAs, check_products, write_products
from pricing.gtin import gtin_with_check_digit
from pricing.products import Product
from tests.support.ledger_oracle import day, engine_price, ledger_price, pub

WRITE = PublishedAs(kind="catalogue", title="product CHS-1", by="test", impact=lambda *_: {})


def _cheese(session: Session, **changes: Any) -> Product:
    row = session.get(ProductRow, "CHS-1")
    assert row is not None
    return replace(product_from_row(row), **changes)


def test_a_product_written_back_into_its_category_by_a_concurrent_writer_enters_the_ledger(
    seeded: Engine,
) -> None:
    sessions = session_factory(seeded)
    pub(seeded, [{"action": "set_price", "sku": "CHS-1", "amount": "10.00"}], now=day(-60))
    pub(
        seeded,
        [
            {
                "action": "upsert_promotion",
                "promotion_id": "ALL-DAIRY",
                "kind": "amount_off",
                "amount": "2.00",
                "categories": ["dairy"],
                "valid_from": day(-1).isoformat(),
            }
        ],
        now=day(-2),
    )
    with sessions() as writer_b:
        # B reads (PUT /products/CHS-1, a rename), before A's move commits.
        checked_b = check_products(writer_b, [_cheese(writer_b, name="Gouda 150 g")], now=day(0))
        with sessions.begin() as writer_a:
            checked_a = check_products(writer_a, [_cheese(writer_a, category="coffee")], now=day(0))
            write_products(writer_a, checked_a, now=day(0), currency="PLN", published_as=WRITE)
        write_products(
            writer_b,
            checked_b,
            now=day(0) + timedelta(minutes=1),
            currency="PLN",
            published_as=WRITE,
        )
        writer_b.commit()
    with sessions() as session:
        cheese = session.get(ProductRow, "CHS-1")
        assert cheese is not None
        assert cheese.category == "dairy"  # B's row stands
    at = day(1)
    # The shelf charges the dairy promotion again (the engine over the record) ...
    assert engine_price(seeded, "CHS-1", "store", "S01", at, now=day(2)) == Decimal("8.00")
    # ... and the ledger should say so.
    assert ledger_price(seeded, "CHS-1", "store", "S01", at) == Decimal("8.00")


def _write(engine: Engine, sku: str, **changes: Any) -> None:
    with session_factory(engine).begin() as session:
        row = session.get(ProductRow, sku)
        assert row is not None
        checked = check_products(session, [replace(product_from_row(row), **changes)], now=day(0))
        assert not checked.refusals
        write_products(session, checked, now=day(0), currency="PLN", published_as=WRITE)


def test_a_write_whose_gtin_another_writer_gave_away_meanwhile_is_refused_as_a_conflict(
    seeded: Engine,
) -> None:
    """B reads the cheese (its GTIN as stored) for a rename; meanwhile the cheese gets
    another GTIN and the milk the cheese's old one. Checked again under the lock, B's
    row would give one barcode to two products: a conflict, and nothing of it written."""
    sessions = session_factory(seeded)
    with sessions() as writer_b:
        cheese = _cheese(writer_b, name="Gouda 150 g")
        checked_b = check_products(writer_b, [cheese], now=day(0))
        assert not checked_b.refusals
        _write(seeded, "CHS-1", gtin=gtin_with_check_digit("590051200002"))
        _write(seeded, "MLK-1", gtin=cheese.gtin)
        with pytest.raises(ConflictError, match="CHS-1 was changed by another writer") as refused:
            write_products(writer_b, checked_b, now=day(0), currency="PLN", published_as=WRITE)
        assert refused.value.field == "gtin"
        writer_b.rollback()
    with sessions() as session:
        stored = session.get(ProductRow, "CHS-1")
        assert stored is not None
        assert (stored.name, stored.gtin) == (
            "Ser gouda 150 g",
            gtin_with_check_digit("590051200002"),
        )
