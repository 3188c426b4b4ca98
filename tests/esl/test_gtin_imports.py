"""A GTIN with a wrong check digit or length never reaches the store of record."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select, update

from esl.db.engine import session_factory
from esl.db.models import ProductRow
from esl.errors import ImportRejectedError
from esl.imports import import_products
from tests.support.api import Api
from tests.support.database import PRODUCTS_CSV, START

HEADER = PRODUCTS_CSV.splitlines()[0] + "\n"
GOOD = "NEW-1,Chleb,Piekarnia,5901234123457,bread,5,500,g,yes,2026-03-01T00:00:00Z,\n"


def test_an_import_names_the_line_and_the_computed_check_digit(seeded: Engine) -> None:
    bad_digit = "NEW-2,Bułka,Piekarnia,5901234123450,bread,5,1,pcs,yes,2026-03-01T00:00:00Z,\n"
    too_short = "NEW-3,Rogal,Piekarnia,59012341234,bread,5,1,pcs,yes,2026-03-01T00:00:00Z,\n"
    with pytest.raises(ImportRejectedError) as rejected, session_factory(seeded)() as session:
        import_products(
            session,
            HEADER + GOOD + bad_digit + too_short,
            currency="PLN",
            imported_by="t",
            now=START,
        )
    first, second = rejected.value.problems
    assert first["line"] == 3
    assert "computed check digit is 7" in str(first["reason"])
    assert second["line"] == 4
    assert "8, 12, 13 or 14 digits" in str(second["reason"])
    with session_factory(seeded)() as session:
        stored = session.scalars(select(ProductRow.sku).where(ProductRow.sku.like("NEW-%")))
        assert stored.all() == []


def test_the_api_refuses_a_product_with_a_wrong_check_digit(api: Api) -> None:
    product = {
        "name": "Mleko",
        "vat_rate": "5",
        "net_content": "1",
        "net_unit": "l",
        "on_sale_since": "2025-01-01T00:00:00Z",
    }
    pricing = api.headers("pricing")
    refused = api.client.put(
        "/api/v1/products/MLK-9", json={**product, "gtin": "5901234123450"}, headers=pricing
    )
    assert refused.status_code == 422
    error = refused.json()["error"]
    assert (error["code"], error["expected_check_digit"]) == ("invalid_gtin", 7)
    assert api.client.get("/api/v1/products/MLK-9", headers=pricing).status_code == 404
    accepted = api.client.put(
        "/api/v1/products/MLK-9", json={**product, "gtin": "5901234123457"}, headers=pricing
    )
    assert accepted.status_code == 200


def test_a_wrong_gtin_stored_before_the_check_stops_nothing(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    """A database written before GTINs were checked may hold a wrong one (the old bundled
    sample did): the product still quotes and plans, without a barcode, and says why."""
    pricing = api.headers("pricing")
    prices = "sku,scope,channel,store_or_zone,price,currency\nMLK-1,national,,,3.49,PLN\n"
    imported = api.client.post(
        "/api/v1/imports/prices", files={"file": ("p.csv", prices, "text/csv")}, headers=pricing
    )
    assert imported.status_code == 200, imported.text
    # A wrong check digit (1 is right), one per backend: each is reported once per process.
    wrong = "5900820000012" if api.engine.dialect.name == "sqlite" else "5900820000013"
    with session_factory(api.engine)() as session, session.begin():
        session.execute(update(ProductRow).where(ProductRow.sku == "MLK-1").values(gtin=wrong))
    quoted = api.client.get(
        "/api/v1/quote", params={"sku": "MLK-1", "store": "S01"}, headers=pricing
    )
    assert quoted.status_code == 200, quoted.text
    assert f"MLK-1: stored GTIN {wrong} has check digit {wrong[-1]}" in caplog.text
