"""Products: ones moved to another category, whose prices are then also their new
category's promotions' (and no longer their old one's); and each product's facts from an
instant on (`product_versions`), what a past instant prices it with."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import Session

from esl.db.bulk import insert_rows
from esl.db.models import ProductVersionRow, core_table
from esl.db.repositories.chunks import in_chunks
from esl.services.ledger_recording import record_moved_keys
from pricing.ledger import LedgerEntry

__all__ = ["CATEGORY_MOVE_SOURCE", "record_category_moves", "record_product_versions"]

CATEGORY_MOVE_SOURCE = "product"
CATEGORY_MOVE_CHUNK = 500  # SKUs per catalogue read: x stores x channels keys each


def record_category_moves(
    session: Session,
    categories_before: Mapping[str, str],
    *,
    at: datetime,
    currency: str,
    publication_id: int | None,
) -> list[LedgerEntry]:
    """After the products of `categories_before` (SKU -> its category before) moved to
    other categories (flushed): the ledger entries, at `at`, of every key of those products
    (each store and channel) whose applied price the move changed: a promotion of a
    category reduces every product in it. A move putting a product under a promotion that
    would sell it above a regular price is refused (`record_moved_keys`)."""
    return record_moved_keys(
        session,
        categories_before,
        stores=None,
        at=at,
        currency=currency,
        source=CATEGORY_MOVE_SOURCE,
        publication_id=publication_id,
        chunk=CATEGORY_MOVE_CHUNK,
        categories_before=categories_before,
    )


def record_product_versions(
    session: Session, products: Iterable[Mapping[str, Any]], *, valid_from: datetime
) -> None:
    """Record each of `products` (`products` rows: `esl.db.mapping.product_values`) as it
    is from `valid_from` on; a version of it already recorded at that very instant
    (changed twice at one reading of the clock) is replaced."""
    table = core_table(ProductVersionRow)
    rows = [{**values, "valid_from": valid_from} for values in products]
    for chunk in in_chunks(sorted(str(row["sku"]) for row in rows)):
        session.execute(
            delete(table).where(table.c.sku.in_(chunk), table.c.valid_from == valid_from)
        )
    insert_rows(session, table, rows)
