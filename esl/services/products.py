"""Products: ones moved to another category, whose prices are then also their new
category's promotions' (and no longer their old one's)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy.orm import Session

from esl.services.ledger_recording import record_moved_keys
from pricing.ledger import LedgerEntry

__all__ = ["CATEGORY_MOVE_SOURCE", "record_category_moves"]

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
