"""Products: ones moved to another category, whose prices are then also their new
category's promotions' (and no longer their old one's)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy.orm import Session

from esl.db.repositories import in_chunks
from esl.db.repositories.catalogue import load_catalogue_slice
from esl.services.ledger_recording import record_applied_prices
from pricing.ledger import LedgerEntry, PriceKey
from pricing.products import Channel

__all__ = ["CATEGORY_MOVE_SOURCE", "record_category_moves"]

CATEGORY_MOVE_SOURCE = "product"
CATEGORY_MOVE_CHUNK = 500  # SKUs per catalogue read: x stores x channels keys each


def record_category_moves(
    session: Session,
    skus: Collection[str],
    *,
    at: datetime,
    currency: str,
    publication_id: int | None,
) -> list[LedgerEntry]:
    """After `skus` moved to other categories (flushed): the ledger entries, at `at`, of
    every key of those products (each store and channel) whose applied price the move
    changed: a promotion of a category reduces every product in it."""
    session.flush()
    entries: list[LedgerEntry] = []
    for chunk in in_chunks(sorted(skus), CATEGORY_MOVE_CHUNK):
        catalogue = load_catalogue_slice(session, chunk, currency=currency)
        keys = [
            PriceKey(sku, channel, store)
            for sku in catalogue.products
            for store in catalogue.stores
            for channel in Channel
        ]
        entries += record_applied_prices(
            session,
            catalogue,
            keys,
            at=at,
            source=CATEGORY_MOVE_SOURCE,
            publication_id=publication_id,
            now=at,
        )
    return entries
