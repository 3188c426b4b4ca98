"""Properties of price files over random valid files: idempotent, round-trip, all or nothing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete, select

from esl.db.engine import session_factory
from esl.db.models import LedgerEntryRow, PriceRuleRow, PublicationRow
from esl.errors import ImportRejectedError
from esl.imports import export_prices, import_prices
from tests.strategies import bad_price_csv_rows, price_csv_rows
from tests.support.database import START, seeded_sqlite_engine

HEADER = "sku,scope,channel,store_or_zone,price,currency,valid_from,valid_until\n"


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    # One SQLite file for every example; each example starts from no prices.
    with seeded_sqlite_engine(tmp_path_factory.mktemp("properties")) as engine:
        yield engine


def _reset(engine: Engine) -> None:
    with session_factory(engine)() as session, session.begin():
        session.execute(delete(LedgerEntryRow))
        session.execute(delete(PriceRuleRow))
        session.execute(delete(PublicationRow))


def _import(engine: Engine, text: str) -> tuple[int, int, int]:
    with session_factory(engine)() as session, session.begin():
        report = import_prices(session, text, currency="PLN", imported_by="p", now=START)
    return report.inserted, report.updated, report.unchanged


def _stored(engine: Engine) -> list[tuple[str, str]]:
    with session_factory(engine)() as session:
        return [(r.id, str(r.amount)) for r in session.scalars(select(PriceRuleRow))]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=price_csv_rows())
def test_a_valid_file_imports_once_and_its_export_reimports_as_unchanged(
    database: Engine, rows: list[str]
) -> None:
    _reset(database)
    assert _import(database, HEADER + "\n".join(rows)) == (len(rows), 0, 0)
    assert _import(database, HEADER + "\n".join(reversed(rows))) == (0, 0, len(rows))
    with session_factory(database)() as session:
        exported = "".join(export_prices(session))
    assert _import(database, exported) == (0, 0, len(rows))


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=price_csv_rows(), bad=bad_price_csv_rows, data=st.data())
def test_one_bad_row_anywhere_rejects_the_file_and_names_its_line(
    database: Engine, rows: list[str], bad: str, data: st.DataObject
) -> None:
    _reset(database)
    position = data.draw(st.integers(min_value=0, max_value=len(rows)))
    spliced = [*rows[:position], bad, *rows[position:]]
    with pytest.raises(ImportRejectedError) as rejected:
        _import(database, HEADER + "\n".join(spliced))
    assert [p["line"] for p in rejected.value.problems] == [position + 2]
    assert _stored(database) == []
