"""Reading many rows at driver speed: plain tuples, each column's type applied once per
distinct value.

SQLAlchemy builds a Row object per row and runs each column's result processor per cell;
reading 100,000 labels or ledger entries that way was a third of an audit. A column read
with `raw` arrives as the driver gives it, and a `ColumnReader` converts it through the
column type's own processor, memoised per raw value (the same instants and amounts recur
across thousands of rows). The bulk writes are the mirror image, in `esl.db.bulk`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import ColumnElement, Select, type_coerce
from sqlalchemy.orm import Session
from sqlalchemy.types import NullType, TypeDecorator

__all__ = ["ColumnReader", "driver_rows", "raw"]


class ColumnReader:
    """Database value -> Python value as `column`'s type reads it, memoised per raw value."""

    __slots__ = ("_cache", "_process")

    def __init__(self, session: Session, column: ColumnElement[Any]) -> None:
        dialect = session.get_bind().dialect
        column_type = column.type
        process: Callable[[Any], Any] | None
        try:
            process = column_type.dialect_impl(dialect).result_processor(dialect, None)
        except TypeError:
            # psycopg's numeric processor wants the cursor's type code; its values come
            # as Decimal already, so only our own type's step remains.
            process = None
            if isinstance(column_type, TypeDecorator):
                decorator = column_type

                def process(value: Any) -> Any:
                    return decorator.process_result_value(value, dialect)

        self._process = process
        self._cache: dict[Any, Any] = {}

    def __call__(self, value: Any) -> Any:
        if value is None or self._process is None:
            return value
        try:
            return self._cache[value]
        except KeyError:
            converted = self._cache[value] = self._process(value)
            return converted


def driver_rows(session: Session, statement: Select[Any]) -> list[tuple[Any, ...]]:
    """The rows of `statement` as the DBAPI driver returns them: plain tuples, without
    SQLAlchemy's Row objects. Only for statements whose columns need no conversion or
    are converted by the caller (`raw` columns read through a `ColumnReader`)."""
    connection = session.connection()
    compiled = statement.compile(
        dialect=connection.dialect, compile_kwargs={"render_postcompile": True}
    )
    positions = compiled.positiontup
    parameters: Any = (
        tuple(compiled.params[name] for name in positions)
        if positions is not None
        else compiled.params
    )
    result = connection.exec_driver_sql(compiled.string, parameters)
    try:
        return list(result.cursor.fetchall())
    finally:
        result.close()


def raw(column: ColumnElement[Any]) -> ColumnElement[Any]:
    """`column` as the driver returns it, under its own name (convert with a
    `ColumnReader`)."""
    return type_coerce(column, NullType()).label(column.key)
