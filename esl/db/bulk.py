"""Bulk inserts for imports: one compiled statement, DBAPI executemany, types applied once.

SQLAlchemy's Core executemany re-processes parameters row by row through its generic
machinery; for 100,000-row files that is a third of the write time. Here the statement
is compiled once for the connection's dialect, each column's bind processor (our
exact-decimal and UTC types included) is applied directly, and the rows go to the
driver's executemany.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.orm import Session

__all__ = ["insert_rows"]

BATCH = 10_000


def insert_rows(session: Session, table: Table, rows: Sequence[Mapping[str, Any]]) -> int:
    """INSERT every row (all with the same keys) in the session's transaction."""
    if not rows:
        return 0
    connection = session.connection()
    dialect = connection.dialect
    columns = list(rows[0].keys())
    compiled = insert(table).compile(dialect=dialect, column_keys=columns)
    processors: dict[str, Callable[[Any], Any] | None] = {
        name: table.c[name].type.bind_processor(dialect) for name in columns
    }

    def value(row: Mapping[str, Any], name: str) -> Any:
        raw = row[name]
        processor = processors[name]
        return processor(raw) if processor is not None and raw is not None else raw

    positional = compiled.positiontup
    for start in range(0, len(rows), BATCH):
        batch = rows[start : start + BATCH]
        params: list[Any]
        if positional is not None:
            params = [tuple(value(row, name) for name in positional) for row in batch]
        else:
            params = [{name: value(row, name) for name in columns} for row in batch]
        connection.exec_driver_sql(compiled.string, params)
    return len(rows)
