"""An import that changed something is recorded as a publication, like any price change."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from esl.db.models import PublicationRow
from esl.planning_queue import queue_publication

__all__ = ["record_import_publication"]


def record_import_publication(
    session: Session,
    *,
    title: str,
    imported_by: str,
    now: datetime,
    impact: dict[str, Any],
    shelves: Iterable[tuple[str, str]] = (),
) -> int:
    """An import that changed something is a publication too: published at once, by its
    importer, with its impact; returns its id for the rows and ledger entries it wrote.
    It is handed to planning with the (SKU, store) `shelves` whose store price changes."""
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
    queue_publication(session, publication.id, shelves=shelves, effective_at=now, now=now)
    return publication.id
