"""`import_file`, the one door `esl import KIND` and POST /imports/KIND load a file
through: each kind reaches its own importer, a publication it records is titled by the
caller or else by the kind ("price file" and so on), and the ledger can be left out of a
price file alone (`esl import prices --no-ledger`)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select

from esl.db.engine import session_factory
from esl.db.models import LedgerEntryRow, PublicationRow
from esl.imports.by_kind import ImportKind, import_file
from esl.imports.report import ImportReport
from tests.support.database import PRODUCTS_CSV, START

FILES: dict[ImportKind, str] = {
    "prices": "sku,scope,price,currency\nMLK-1,national,3.49,PLN\n",
    "promotions": "id,name,kind,skus,percent\nMLK-10,Milk -10 %,percent_off,MLK-1,10\n",
    "products": PRODUCTS_CSV.replace("Mleko 3.2% 1 l", "Mleko 2% 1 l"),
    "stores": "code,name\nS03,Kraków Rynek\n",
    "history": (
        "sku,channel,store,effective_at,price,currency\n"
        f"MLK-1,store,S01,{(START - timedelta(days=20)).isoformat()},3.59,PLN\n"
    ),
}


def _import(
    engine: Engine, kind: ImportKind, *, title: str | None, record_ledger: bool = True
) -> tuple[ImportReport, PublicationRow]:
    with session_factory(engine)() as session, session.begin():
        report = import_file(
            session,
            kind,
            FILES[kind],
            currency="PLN",
            imported_by="test",
            now=START,
            title=title,
            record_ledger=record_ledger,
        )
    assert report.kind == kind
    assert report.publication_id is not None, report
    with session_factory(engine)() as session:
        publication = session.get(PublicationRow, report.publication_id)
        assert publication is not None
        session.expunge(publication)
    return report, publication


@pytest.mark.parametrize(
    ("kind", "title"),
    [
        ("prices", "price file"),
        ("promotions", "promotion file"),
        ("products", "product file"),
        ("stores", "store file"),
        ("history", "history file"),
    ],
)
def test_a_file_without_a_name_is_titled_by_its_kind(
    seeded: Engine, kind: ImportKind, title: str
) -> None:
    report, publication = _import(seeded, kind, title=None)
    assert report.changed
    assert (publication.kind, publication.title, publication.created_by) == (
        "import",
        title,
        "test",
    )


@pytest.mark.parametrize("kind", ["prices", "promotions", "products", "stores", "history"])
def test_a_named_file_titles_its_publication(seeded: Engine, kind: ImportKind) -> None:
    _, publication = _import(seeded, kind, title="week-12.csv")
    assert publication.title == "week-12.csv"


@pytest.mark.parametrize("record_ledger", [True, False])
def test_a_price_file_records_the_ledger_unless_told_not_to(
    seeded: Engine, record_ledger: bool
) -> None:
    _, publication = _import(seeded, "prices", title=None, record_ledger=record_ledger)
    assert publication.impact is not None
    assert publication.impact["ledger_recorded"] is record_ledger
    with session_factory(seeded)() as session:
        entries = session.scalar(select(func.count()).select_from(LedgerEntryRow))
    assert bool(entries) is record_ledger
