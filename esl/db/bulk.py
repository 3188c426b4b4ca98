"""Bulk writes: one compiled statement, DBAPI executemany, types applied once.

SQLAlchemy's Core executemany re-processes parameters row by row through its generic
machinery; for 100,000-row files that is a third of the write time, and a third of the
update pipeline's database time per label. Here the statement is compiled once for the
connection's dialect, each column's bind processor for that dialect (our exact-decimal
and UTC types included, then the dialect's own formatting, so stored values are exactly
what an ORM query binds) is applied directly, and the rows go to the driver's
executemany. Used by imports (`insert_rows`) and by the pipeline's outbox, label states
and acknowledgement history (`insert_rows`, `update_rows`).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Dialect, Table, bindparam, insert, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.types import TypeEngine

from esl.db.repositories.chunks import in_chunks
from esl.db.types import UtcDateTime

__all__ = ["insert_rows", "update_rows"]

BATCH = 10_000


def insert_rows(session: Session, table: Table, rows: Sequence[Mapping[str, Any]]) -> int:
    """INSERT every row (all with the same keys) in the session's transaction."""
    if not rows:
        return 0
    dialect = session.connection().dialect
    columns = list(rows[0].keys())
    compiled = insert(table).compile(dialect=dialect, column_keys=columns)
    _execute_many(session, table, compiled, rows, {name: name for name in columns})
    return len(rows)


def update_rows(
    session: Session, table: Table, *, key: str, rows: Sequence[Mapping[str, Any]]
) -> int:
    """UPDATE each row's other columns WHERE `key` equals its `key` value (every row with
    the same keys) in the session's transaction."""
    if not rows:
        return 0
    dialect = session.connection().dialect
    columns = [name for name in rows[0] if name != key]
    statement = (
        update(table)
        .where(table.c[key] == bindparam("b_key"))
        .values({name: bindparam(f"v_{name}") for name in columns})
    )
    sources = {"b_key": key} | {f"v_{name}": name for name in columns}
    _execute_many(session, table, statement.compile(dialect=dialect), rows, sources)
    return len(rows)


def _execute_many(
    session: Session,
    table: Table,
    compiled: SQLCompiler,
    rows: Sequence[Mapping[str, Any]],
    sources: Mapping[str, str],
) -> None:
    """Run `compiled` once per row; `sources` maps each bind parameter to its row key."""
    connection = session.connection()
    dialect = connection.dialect
    # The dialect's implementation of each type, as SQLAlchemy itself binds it: a
    # TypeDecorator's own bind_processor chains to its generic impl (DateTime), which on
    # SQLite leaves the datetime to the driver, stored `09:00:00` for a whole second where
    # every ORM query binds `09:00:00.000000`, so text comparison lost such rows.
    processors: dict[str, Callable[[Any], Any] | None] = {
        bind: _bind_processor(table.c[name].type, dialect) for bind, name in sources.items()
    }

    order = compiled.positiontup if compiled.positiontup is not None else list(sources)
    # One C-level lookup per row for every column, then the bind processors (dates,
    # decimals) on the few columns that have one: a Python call per value was most of
    # the cost of a bulk write.
    read = operator.itemgetter(*(sources[bind] for bind in order))
    single = len(order) == 1
    # Instants are converted once per distinct value: a batch's instants repeat (60,000
    # ledger entries of an import share two), and formatting each datetime for SQLite was
    # a quarter of writing them. Only instants: equal ones format alike, where equal
    # Decimals need not (1.0 and 1.00 are stored as written).
    converted: list[tuple[int, Callable[[Any], Any], dict[Any, Any] | None]] = [
        (index, processor, {} if _holds_instants(table, sources[bind]) else None)
        for index, bind in enumerate(order)
        if (processor := processors[bind]) is not None
    ]
    for chunk in in_chunks(rows, BATCH):
        params: list[Any] = []
        for row in chunk:
            values = (read(row),) if single else read(row)
            if converted:
                changed = list(values)
                for index, processor, memo in converted:
                    value = changed[index]
                    if value is None:
                        continue
                    if memo is None:
                        changed[index] = processor(value)
                    elif (known := memo.get(value)) is not None:
                        changed[index] = known
                    else:
                        changed[index] = memo[value] = processor(value)
                values = tuple(changed)
            params.append(values)
        if compiled.positiontup is None:
            params = [dict(zip(order, values, strict=True)) for values in params]
        connection.exec_driver_sql(compiled.string, params)


def _holds_instants(table: Table, name: str) -> bool:
    # UtcDateTime converts to UTC first, so equal instants written in different zones are
    # stored alike; a plain DateTime would keep each one's own wall time.
    return isinstance(table.c[name].type, UtcDateTime)


def _bind_processor(column_type: TypeEngine[Any], dialect: Dialect) -> Callable[[Any], Any] | None:
    """The bind processor SQLAlchemy would chain for `column_type` on `dialect`, or one
    giving the very same value in fewer steps."""
    if isinstance(column_type, UtcDateTime) and dialect.name == "sqlite":
        # The chain (the decorator's check and conversion to naive UTC, then SQLite
        # DATETIME's `%`-formatting of a dict of seven fields) cost more than any other
        # Python step of writing a planned frame or a settled answer; `isoformat` with
        # microseconds writes the same text (`2026-03-02 09:00:00.000000`) in one call.
        to_naive_utc = column_type.process_bind_param
        return lambda value: to_naive_utc(value, dialect).isoformat(" ", "microseconds")
    return column_type.dialect_impl(dialect).bind_processor(dialect)
