"""An import that changed something is recorded as a publication, like any price change."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from esl.db.models import PublicationRow
from esl.planning_queue import ShelvesAt, queue_later_instants, queue_publication

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
    store (a promotion's). `later`: the shelves whose labels change again at a later
    instant (a promotion or price that starts or ends then), each queued for it."""
    publication = PublicationRow(
        title=title,
        kind="import",
        status="published",
        created_by=imported_by,
        created_at=now,
        effective_at=now,
        validated_at=now,
        published_at=now,
        published_by=imported_by,
        problems=[],
        impact=impact,
    )
    session.add(publication)
    session.flush()
    queue_publication(
        session, publication.id, shelves=shelves, everywhere=everywhere, effective_at=now, now=now
    )
    if later:
        queue_later_instants(session, publication.id, instants=later, after=now, now=now)
    return publication.id
