"""Store codes named by a caller: unknown ones are refused, not reported as empty stores."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from esl.db.models import StoreRow
from esl.errors import NotFoundError

__all__ = ["require_known_stores"]


def require_known_stores(session: Session, codes: Iterable[str]) -> None:
    """NotFoundError("store", code) for the first code (in sorted order) not stored."""
    wanted = set(codes)
    if not wanted:
        return
    known = set(session.scalars(select(StoreRow.code).where(StoreRow.code.in_(wanted))))
    for code in sorted(wanted - known):
        raise NotFoundError("store", code)
