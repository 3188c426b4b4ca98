"""Review (failing): two product writers at once, one moving the cheese out of its promoted
category, the other (read before the move committed) writing it with its category as it
read it. The second takes no price writers' lock and plans no ledger entry (it saw no
move), yet its row puts the cheese back in the category: the shelf charges the category
promotion again while the ledger keeps the regular price, and a later reduction's 30-day
low misses the promotion price charged meanwhile.

CHS-1 costs 10.00 (dairy); ALL-DAIRY, 2.00 off dairy, runs from day -1. On day 0 writer B
reads CHS-1 for a rename (category dairy as stored); writer A moves it to coffee and
commits; B writes its rename, dairy in the body, and commits.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from esl.db.engine import session_factory
from esl.db.mapping import product_from_row
from esl.db.models import ProductRow
from esl.services.product_writes import PublishedAs, check_products, write_products
from pricing.products import Product
from tests.esl.review_ledger_oracle import day, engine_price, ledger_price, pub

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
