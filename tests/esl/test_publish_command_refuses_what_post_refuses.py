"""`esl publish FILE.json` refuses, before storing anything, what POST /publications
refuses (docs/api.md: an effective_at in the past, an amount finer than its currency, a
promotion that targets no SKU and no category, a SKU, category, zone, store or
promotion that does not exist, a zone no store belongs to, "never stored"), through the
same check (services.publication.require_storable_draft).
Before, it created and validated the draft in one transaction that committed: each such
file left a draft publication behind, and its amount problem came back as a validation
problem of a stored draft instead of a refusal."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, func, select
from typer.testing import CliRunner

from esl.cli import app
from esl.db.models import PublicationItemRow, PublicationRow
from tests.support.database import PRODUCTS_CSV

pytestmark = pytest.mark.integration


@pytest.fixture
def database(cli: CliRunner, tmp_path: Path) -> Iterator[Engine]:
    """The SQLite file the `cli` fixture upgraded, holding products (MLK-1, CHS-1: dairy;
    CFE-1: coffee) and no store."""
    products = tmp_path / "products.csv"
    products.write_text(PRODUCTS_CSV, encoding="utf-8")
    imported = cli.invoke(app, ["import", "products", str(products)])
    assert imported.exit_code == 0, imported.output
    engine = create_engine(f"sqlite:///{tmp_path / 'data' / 'esl.sqlite'}")
    yield engine
    engine.dispose()


def _stored(engine: Engine) -> tuple[int, int]:
    with engine.connect() as connection:
        return (
            int(connection.scalar(select(func.count()).select_from(PublicationRow)) or 0),
            int(connection.scalar(select(func.count()).select_from(PublicationItemRow)) or 0),
        )


# An item the database takes (a national price of a product it holds), so the one
# refused is item 1.
KNOWN = {"action": "set_price", "sku": "MLK-1", "amount": "3.49"}
MILK_5 = {
    "action": "upsert_promotion",
    "promotion_id": "MLK-5",
    "kind": "percent_off",
    "percent": "5",
    "skus": ["MLK-1"],
}


@pytest.mark.parametrize(
    ("body", "first_line"),
    [
        (
            {
                "title": "last year",
                "effective_at": "2020-01-01T00:00:00Z",
                "items": [{"action": "end_price", "sku": "MLK-1"}],
            },
            "effective_at lies in the past: the past cannot be rewritten",
        ),
        (
            {
                "title": "a tenth of a grosz",
                "items": [
                    {"action": "end_price", "sku": "MLK-1"},
                    {"action": "set_price", "sku": "MLK-1", "amount": "3.499"},
                ],
            },
            "items[1]: amount 3.499 has more decimals than PLN allows",
        ),
        (
            {
                "title": "forint cents",
                "items": [
                    {"action": "set_price", "sku": "MLK-1", "amount": "1299.50", "currency": "HUF"}
                ],
            },
            "items[0]: amount 1299.50 has more decimals than HUF allows",
        ),
        (
            {
                "title": "3 za 2,99",
                "items": [
                    {
                        "action": "upsert_promotion",
                        "promotion_id": "MLK-3ZA",
                        "kind": "fixed_price",
                        "amount": "2.99",
                        "quantity": 3,
                        "skus": ["MLK-1"],
                    }
                ],
            },
            "items[0]: promotion MLK-3ZA: fixed_price takes no quantity",
        ),
        (
            {
                "title": "a promotion of nothing",
                "items": [KNOWN, MILK_5 | {"promotion_id": "ALL-5", "skus": []}],
            },
            "items[1]: promotion ALL-5: targets no SKU and no category",
        ),
        (
            {
                "title": "a category no product has",
                "items": [
                    KNOWN,
                    {
                        "action": "upsert_promotion",
                        "promotion_id": "TOYS-10",
                        "kind": "percent_off",
                        "percent": "10",
                        "categories": ["toys"],
                    },
                ],
            },
            "items[1]: unknown category(s): toys",
        ),
        (
            {
                "title": "a product that does not exist",
                "items": [KNOWN, {"action": "set_price", "sku": "NOPE-1", "amount": "3.29"}],
            },
            "items[1]: unknown sku(s): NOPE-1",
        ),
        (
            {
                "title": "a store that does not exist",
                "items": [
                    KNOWN,
                    {"action": "set_price", "sku": "MLK-1", "store": "S99", "amount": "3.29"},
                ],
            },
            "items[1]: unknown store(s): S99",
        ),
        (
            {
                "title": "a promotion never stored",
                "items": [KNOWN, {"action": "end_promotion", "promotion_id": "DAIRY-5"}],
            },
            "items[1]: unknown promotion(s): DAIRY-5",
        ),
    ],
    ids=[
        "effective_at in the past",
        "amount finer than PLN",
        "amount finer than HUF",
        "quantity on a fixed_price",
        "promotion of nothing",
        "unknown category",
        "unknown sku",
        "unknown store",
        "unknown promotion",
    ],
)
def test_a_publication_post_refuses_is_refused_and_nothing_is_stored(
    cli: CliRunner, database: Engine, tmp_path: Path, body: dict[str, Any], first_line: str
) -> None:
    path = tmp_path / "publication.json"
    path.write_text(json.dumps(body), encoding="utf-8")
    result = cli.invoke(app, ["publish", str(path)])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith(f"error: {path}: {first_line}"), lines
    assert lines[1] == "  correct the file; nothing was stored"
    assert result.stdout == ""
    assert _stored(database) == (0, 0), "a refused publication was left in the database"


def test_a_zone_no_store_belongs_to_is_refused_and_nothing_is_stored(
    cli: CliRunner, database: Engine, tmp_path: Path
) -> None:
    """A zone `esl zones put` defined, which no store has joined yet, is refused as
    POST /publications refuses it (and the price file refuses its line)."""
    assert cli.invoke(app, ["zones", "put", "west", "--name", "West"]).exit_code == 0
    path = tmp_path / "publication.json"
    body = {
        "title": "west",
        "items": [KNOWN, MILK_5 | {"promotion_id": "WEST-5", "zones": ["west"]}],
    }
    path.write_text(json.dumps(body), encoding="utf-8")
    result = cli.invoke(app, ["publish", str(path)])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith(f"error: {path}: items[1]: zone(s) with no store: west"), lines
    assert _stored(database) == (0, 0), "a refused publication was left in the database"
