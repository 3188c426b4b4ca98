"""The publication a price or promotion file records, opened before its ledger is written."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from esl.planning_queue import open_published_change
from esl.services.ledger_recording import LedgerWriter

__all__ = ["open_import_ledger"]


def open_import_ledger(session: Session, *, title: str, by: str, now: datetime) -> LedgerWriter:
    """The ledger writer of a file's import publication (`LedgerWriter.publication_id`),
    which is written first: the ledger entries written as each chunk of SKUs is planned
    name it. A refused file raises before commit and leaves none of it; its impact is
    filled in by `hand_published_change`."""
    publication_id = open_published_change(session, kind="import", title=title, by=by, now=now)
    return LedgerWriter(publication_id, source="import", now=now)
