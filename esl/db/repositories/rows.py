"""`row_or_not_found`: one row by its primary key, or the error every caller raises."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy.orm import Session

from esl.errors import NotFoundError

__all__ = ["row_or_not_found"]

RowT = TypeVar("RowT")


def row_or_not_found(session: Session, model: type[RowT], key: Any, entity: str) -> RowT:
    """The `model` row with primary key `key`; NotFoundError(`entity`, `key`) when there is
    none, so an unknown id is refused the same way everywhere."""
    row = session.get(model, key)
    if row is None:
        raise NotFoundError(entity, key)
    return row
