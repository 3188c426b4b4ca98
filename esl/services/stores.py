"""Stores: codes named by a caller (unknown ones are refused, not reported as empty
stores), and a store moved to another zone, whose prices are then its new zone's."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from esl.db.models import ProductRow, StoreRow
from esl.errors import NotFoundError
from esl.services.ledger_recording import record_moved_keys
from pricing.ledger import LedgerEntry

__all__ = ["record_zone_move", "require_known_stores"]

ZONE_MOVE_SOURCE = "store"
ZONE_MOVE_CHUNK = 2_000  # SKUs per catalogue read


def require_known_stores(session: Session, codes: Iterable[str]) -> None:
    """NotFoundError("store", code) for the first code (in sorted order) not stored."""
    wanted = set(codes)
    if not wanted:
        return
    known = set(session.scalars(select(StoreRow.code).where(StoreRow.code.in_(wanted))))
    for code in sorted(wanted - known):
        raise NotFoundError("store", code)


def record_zone_move(
    session: Session, code: str, *, at: datetime, currency: str, publication_id: int | None
) -> list[LedgerEntry]:
    """After a store moved to another zone (flushed): the ledger entries, at `at`, of
    every key of the store (each channel) whose applied price the move changed."""
    session.flush()
    return record_moved_keys(
        session,
        session.scalars(select(ProductRow.sku)).all(),
        stores=[code],
        at=at,
        currency=currency,
        source=ZONE_MOVE_SOURCE,
        publication_id=publication_id,
        chunk=ZONE_MOVE_CHUNK,
    )
