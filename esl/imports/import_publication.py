"""An import that changed something is recorded as a publication, like any price change."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from esl.planning_queue import ShelvesAt, record_published_change

__all__ = ["record_import_publication"]


def record_import_publication(
    session: Session,
    *,
    title: str,
    imported_by: str,
    now: datetime,
    impact: dict[str, Any],
    shelves: Iterable[tuple[str, str]] = (),
    everywhere: Iterable[str] = (),
    later: Mapping[datetime, ShelvesAt] | None = None,
) -> int:
    """An import that changed something is a publication too: published at once, by its
    importer, with its impact; returns its id for the rows and ledger entries it wrote.

    It is handed to planning with the shelves whose labels may change now: (SKU, store)
    `shelves` whose store price changes, and SKUs whose labels may change in `everywhere`
    store (a promotion's, a product's). `later`: the shelves whose labels change again at
    a later instant (a promotion or price that starts or ends then), each queued for it."""
    return record_published_change(
        session,
        title=title,
        kind="import",
        by=imported_by,
        now=now,
        impact=impact,
        shelves=shelves,
        everywhere=everywhere,
        later=later,
    )
