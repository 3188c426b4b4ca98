"""`?limit=&offset=` on every list, with the total so a client knows when to stop."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Query
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from esl.api.dependencies import ApiContext, context

__all__ = ["PageParams", "Pages", "page_params", "paginate", "where_given"]

T = TypeVar("T")


class PageParams:
    __slots__ = ("limit", "offset")

    def __init__(self, limit: int, offset: int) -> None:
        self.limit = limit
        self.offset = offset


def page_params(
    ctx: Annotated[ApiContext, Depends(context)],
    limit: Annotated[int, Query(ge=1, le=10_000, description="Items per page.")] = 100,
    offset: Annotated[int, Query(ge=0, le=10**12, description="Items to skip.")] = 0,
) -> PageParams:
    return PageParams(min(limit, ctx.settings.api_page_limit), offset)


# Declared here rather than in dependencies.py, which this module imports.
Pages = Annotated[PageParams, Depends(page_params)]


def where_given(statement: Select[Any], *filters: tuple[Any, object]) -> Select[Any]:
    """`statement` narrowed, for each (column, value) filter, to rows whose column equals
    the value; a None value is a filter the caller did not ask for."""
    for column, value in filters:
        if value is not None:
            statement = statement.where(column == value)
    return statement


def paginate(
    session: Session,
    statement: Select[Any],
    params: PageParams,
    convert: Callable[[Any], T],
) -> dict[str, Any]:
    total = session.scalar(select(func.count()).select_from(statement.order_by(None).subquery()))
    rows: Sequence[Any] = session.scalars(statement.limit(params.limit).offset(params.offset)).all()
    items = [convert(row) for row in rows]
    end = params.offset + len(items)
    return {
        "items": items,
        "total": total or 0,
        "limit": params.limit,
        "offset": params.offset,
        "next_offset": end if end < (total or 0) else None,
    }
