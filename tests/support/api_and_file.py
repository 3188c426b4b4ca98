"""A change made once through the API and once through a file into a second, identical
database on the same test clock (the fixture `by_file`, imported by the test modules that
use it: `# noqa: F401 - fixtures`), and what the two databases then hold, row by row,
without what differs by path."""

from __future__ import annotations

import csv
import io
from collections.abc import Collection, Iterable, Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from esl.db.engine import session_factory
from esl.db.models import Base, core_table
from tests.support.api import Api
from tests.support.database import backend_engine, seed_reference_data
from tests.support.pipeline import publish

__all__ = [
    "Rows",
    "by_file_fixture",
    "differences",
    "file_line",
    "price_three_products",
    "rows_seen",
]

Rows = dict[str, list[tuple[Any, ...]]]  # table -> its rows, each as (column, value) pairs


def file_line(columns: Iterable[str], facts: Mapping[str, Any]) -> str:
    """A file of one line, its header `columns`, written as a user writes the file: a
    missing fact an empty cell, a flag yes or no, a list joined by `|`."""
    columns = tuple(columns)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    writer.writerow([_cell(facts.get(column)) for column in columns])
    return out.getvalue()


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return "|".join(value)
    return str(value)


@pytest.fixture(name="by_file")
def by_file_fixture(api: Api, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A second database like the API's (its backend, seeded), written by files."""
    backend = request.node.callspec.params["engine"]
    folder = tmp_path / "by-file"
    folder.mkdir()
    with backend_engine(backend, folder, seeded=False) as engine:
        with session_factory(engine)() as session, session.begin():
            seed_reference_data(session)
        yield engine


def price_three_products(sessions: sessionmaker[Session], now: datetime) -> None:
    """MLK-1, CHS-1 and CFE-1 priced at `now` in a publication."""
    publish(
        sessions,
        [
            {"action": "set_price", "sku": "MLK-1", "amount": "3.49"},
            {"action": "set_price", "sku": "CHS-1", "amount": "4.99"},
            {"action": "set_price", "sku": "CFE-1", "amount": "59.99"},
        ],
        now=now,
    )


def rows_seen(engine: Engine, tables: Iterable[type[Base]], path_columns: Collection[str]) -> Rows:
    """Every row of `tables`, without the `path_columns`, in a stable order."""
    seen: Rows = {}
    with Session(engine) as session:
        for model in tables:
            table = core_table(model)
            columns = [c for c in table.c if c.name not in path_columns]
            rows = session.execute(select(*columns)).all()
            seen[table.name] = sorted(
                (tuple(zip([c.name for c in columns], row, strict=True)) for row in rows),
                key=repr,
            )
    return seen


def differences(by_api: Rows, by_file: Rows) -> dict[str, dict[str, list[tuple[Any, ...]]]]:
    """Table -> the rows only the API's database has, and only the file's."""
    return {
        table: {
            "api only": [r for r in rows if r not in by_file[table]],
            "file only": [r for r in by_file[table] if r not in rows],
        }
        for table, rows in by_api.items()
        if rows != by_file[table]
    }
