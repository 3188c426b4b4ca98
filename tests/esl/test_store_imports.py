"""`esl import stores` and POST /imports/stores: a chain's stores from one file, all rows or
none, with the same effects as PUT /stores/{code} (a zone move enters the ledger)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from esl.cli import app
from esl.db.engine import session_factory
from esl.db.models import LedgerEntryRow, PublicationRow, StoreRow
from esl.errors import ImportRejectedError
from esl.imports import import_prices
from esl.imports.stores import import_stores
from tests.support.api import Api
from tests.support.database import START

HEADER = "code,name,zone,time_zone\n"


def _stores(engine: Engine) -> dict[str, tuple[str, str | None, str | None]]:
    with session_factory(engine)() as session:
        return {
            row.code: (row.name, row.zone, row.time_zone)
            for row in session.scalars(select(StoreRow))
        }


def _import(engine: Engine, text: str) -> tuple[int, int, int, int | None]:
    with session_factory(engine).begin() as session:
        report = import_stores(session, text, imported_by="test", now=START, currency="PLN")
    return report.inserted, report.updated, report.unchanged, report.publication_id


def test_stores_are_created_changed_and_left_alone(seeded: Engine) -> None:
    text = (
        HEADER
        + "S01,Gdańsk Oliwa,north,\n"  # as stored
        + "S02,Gdynia Redłowo,north,Europe/Warsaw\n"  # renamed, a time zone given
        + "LIS-1,Lisboa Baixa,,Europe/Lisbon\n"  # new, national prices
    )
    inserted, updated, unchanged, publication = _import(seeded, text)
    assert (inserted, updated, unchanged) == (1, 1, 1)
    assert publication is not None  # the renamed store's labels print its name
    stores = _stores(seeded)
    assert stores["S02"] == ("Gdynia Redłowo", "north", "Europe/Warsaw")
    assert stores["LIS-1"] == ("Lisboa Baixa", None, "Europe/Lisbon")
    assert stores["S03"] == ("Kraków", "south", None)  # not in the file: as it was

    assert _import(seeded, text) == (0, 0, 3, None)  # the same file again changes nothing


def test_a_file_without_the_zone_columns_keeps_the_stored_zones(seeded: Engine) -> None:
    with session_factory(seeded).begin() as session:
        session.get(StoreRow, "S03").time_zone = "Europe/Warsaw"  # type: ignore[union-attr]
    inserted, updated, _, _ = _import(seeded, "code,name\nS03,Kraków Rynek\nS07,Sopot\n")
    assert (inserted, updated) == (1, 1)
    stores = _stores(seeded)
    # Renamed only: still in its zone (its prices) and its time zone.
    assert stores["S03"] == ("Kraków Rynek", "south", "Europe/Warsaw")
    assert stores["S07"] == ("Sopot", None, None)


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("S04,Sopot,west,", "zone 'west' of store S04 does not exist"),
        ("S04,Sopot,,Europe/Sopot", "unknown time zone 'Europe/Sopot'"),
        ("S04,Sopot,,localtime", "unknown time zone 'localtime'"),  # no IANA name
        ("S 04,Sopot,,", "code 'S 04'"),
        ("S.04,Sopot,,", "code 'S.04'"),  # a store's code is an MQTT topic part
        ("S04,,north,", "name"),
        ("S01,Gdańsk,north,\nS01,Gdańsk Oliwa,north,", "store S01 repeats line 3"),
    ],
)
def test_a_bad_row_rejects_the_whole_file_with_its_line(
    seeded: Engine, row: str, reason: str
) -> None:
    before = _stores(seeded)
    good = "S05,Gdańsk Wrzeszcz,north,\n"
    with pytest.raises(ImportRejectedError) as rejected:
        _import(seeded, HEADER + good + row + "\n")
    [problem] = rejected.value.problems
    assert problem["line"] == 3 + row.count("\n")
    assert reason in str(problem["reason"])
    assert _stores(seeded) == before  # not even the good line's store


def test_a_store_moved_by_the_file_enters_the_ledger_at_its_new_zones_prices(
    seeded: Engine,
) -> None:
    with session_factory(seeded).begin() as session:
        import_prices(
            session,
            "sku,scope,store_or_zone,price,currency\n"
            "MLK-1,national,,3.49,PLN\nMLK-1,zone,south,3.29,PLN\n",
            currency="PLN",
            imported_by="test",
            now=START,
        )
    later = START.replace(hour=START.hour + 1)
    with session_factory(seeded).begin() as session:
        report = import_stores(
            session, HEADER + "S01,Gdańsk Oliwa,south,\n", imported_by="test", now=later,
            currency="PLN",
        )  # fmt: skip
    with session_factory(seeded)() as session:
        moved = session.scalars(
            select(LedgerEntryRow).where(
                LedgerEntryRow.sku == "MLK-1",
                LedgerEntryRow.store == "S01",
                LedgerEntryRow.effective_at == later,
            )
        ).all()
        publication = session.get(PublicationRow, report.publication_id)
    assert {(row.channel, row.amount, row.source) for row in moved} >= {
        ("store", Decimal("3.29"), "store")
    }
    assert publication is not None
    assert publication.title == "store file"


def test_a_store_code_the_mqtt_topics_cannot_carry_is_refused(api: Api) -> None:
    answer = api.client.put(
        "/api/v1/stores/S.09", json={"name": "Sopot"}, headers=api.headers("admin")
    )
    assert answer.status_code == 422, answer.text
    assert "S.09" not in _stores(api.engine)


def test_only_an_admin_uploads_a_store_file(api: Api) -> None:
    file = {"file": ("stores.csv", HEADER + "S09,Sopot,north,Europe/Warsaw\n", "text/csv")}
    refused = api.client.post("/api/v1/imports/stores", files=file, headers=api.headers("pricing"))
    assert refused.status_code == 403, refused.text
    assert "S09" not in _stores(api.engine)
    accepted = api.client.post("/api/v1/imports/stores", files=file, headers=api.headers("admin"))
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["inserted"] == 1
    assert _stores(api.engine)["S09"] == ("Sopot", "north", "Europe/Warsaw")


def test_the_command_line_imports_a_store_file(cli: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "stores.csv"
    path.write_text(HEADER + "WAW-1,Warszawa Centrum,,\n", encoding="utf-8")
    result = cli.invoke(app, ["import", "stores", str(path), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["inserted"] == 1
    path.write_text(HEADER + "WAW-1,Warszawa,,Mars/Base\n", encoding="utf-8")
    bad = cli.invoke(app, ["import", "stores", str(path)])
    assert bad.exit_code == 1
    assert "line 2" in bad.output
    assert "Mars/Base" in bad.output
