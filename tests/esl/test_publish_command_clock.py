"""`esl publish` publishes at the clock of the moment it publishes, not of the moment it
began. It read the clock once, before creating and validating the publication, and
published with that instant: a price file imported while it validated recorded its
prices after that instant, so the publication was planned as if the file's prices were
still ahead of it, and its own prices went into the ledger before the file's."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from esl.cli import app, publish_cmd
from esl.db.engine import create_engine_for, session_factory
from esl.db.models import LedgerEntryRow, PublicationRow, StoreRow, ZoneRow
from esl.imports.by_kind import import_file
from esl.services import publication
from tests.support.database import PRODUCTS_CSV

PRICE_HEADER = "sku,scope,channel,store_or_zone,price,currency,valid_from,valid_until\n"


def _database(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'data' / 'esl.sqlite'}"


def _import_prices(url: str, text: str, name: str, now: datetime) -> None:
    engine = create_engine_for(url)
    with session_factory(engine)() as session, session.begin():
        import_file(
            session,
            "prices",
            text,
            currency="PLN",
            imported_by="pos",
            now=now,
            title=name,
        )
    engine.dispose()


def test_a_price_file_imported_while_publishing_comes_before_the_publication(
    cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = _database(tmp_path)
    engine = create_engine_for(url)
    with session_factory(engine)() as session, session.begin():
        session.add(ZoneRow(code="north", name="North"))
        session.flush()
        session.add(StoreRow(code="S01", name="Oliwa", zone="north"))
    products = tmp_path / "p.csv"
    products.write_text(PRODUCTS_CSV, encoding="utf-8")
    assert cli.invoke(app, ["import", "products", str(products)]).exit_code == 0
    _import_prices(
        url, PRICE_HEADER + "MLK-1,national,,,3.49,PLN,,\n", "monday.csv", datetime.now(UTC)
    )

    # Another user's price file arrives while the publication validates: its instant is
    # read then, and it is written (the real import, in its own transaction) once the
    # validation has committed, before publishing starts, as SQLite's one writer orders
    # them.
    upload_instants: list[datetime] = []

    def validate_during_an_upload(*args: Any, **kwargs: Any) -> PublicationRow:
        row = publication.validate_publication(*args, **kwargs)
        upload_instants.append(datetime.now(UTC))
        return row

    def publish_after_the_upload(*args: Any, **kwargs: Any) -> PublicationRow:
        _import_prices(
            url, PRICE_HEADER + "MLK-1,national,,,3.29,PLN,,\n", "upload.csv", upload_instants[0]
        )
        return publication.publish_publication(*args, **kwargs)

    monkeypatch.setattr(publish_cmd, "validate_publication", validate_during_an_upload)
    monkeypatch.setattr(publish_cmd, "publish_publication", publish_after_the_upload)
    body = {
        "title": "milk",
        "items": [{"action": "set_price", "sku": "MLK-1", "amount": "3.19"}],
    }
    path = tmp_path / "milk.json"
    path.write_text(json.dumps(body), encoding="utf-8")
    published = cli.invoke(app, ["publish", str(path)])
    assert published.exit_code == 0, published.output

    with session_factory(engine)() as session:
        shelf = session.scalars(
            select(LedgerEntryRow)
            .where(
                LedgerEntryRow.sku == "MLK-1",
                LedgerEntryRow.channel == "store",
                LedgerEntryRow.store == "S01",
            )
            .order_by(LedgerEntryRow.effective_at)
        ).all()
        row = session.get(PublicationRow, json.loads(published.stdout)["id"])
    engine.dispose()
    # The shelf charged 3.49, then the upload's 3.29, then the publication's 3.19.
    assert [entry.amount for entry in shelf] == [Decimal("3.49"), Decimal("3.29"), Decimal("3.19")]
    assert row is not None
    assert row.published_at is not None
    assert row.published_at > upload_instants[0]
