"""A CSV row whose text is longer than its column is a bad row of the file, named by its
line and column, on every database (PostgreSQL failed the whole file, SQLite stored it),
as the API refuses the same value by its field; an uploaded file's long name does not
fail a good file."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, func, select

from esl.db.engine import session_factory
from esl.db.models import ProductRow, PromotionRow, PublicationRow
from esl.errors import ImportRejectedError
from esl.imports import import_products, import_promotions
from tests.support.api import Api
from tests.support.database import START

PRODUCT_HEADER = (
    "sku,name,brand,gtin,category,vat_rate,net_content,net_unit,perishable,on_sale_since,web_url\n"
)
GOOD_PRODUCT = "NEW-{n},Masło {n},Mlekovita,,dairy,5,200,g,yes,2025-01-01T00:00:00Z,\n"


def _product_file(bad_line: str) -> str:
    rows = "".join(GOOD_PRODUCT.format(n=n) for n in range(5))
    return PRODUCT_HEADER + rows + bad_line


def _count(engine: Engine, row: type) -> int:
    with session_factory(engine)() as session:
        return session.scalar(select(func.count()).select_from(row)) or 0


@pytest.mark.parametrize(
    ("bad_line", "column", "most"),
    [
        (
            "LONG-NAME," + "M" * 300 + ",Mlekovita,,dairy,5,200,g,yes,2025-01-01T00:00:00Z,\n",
            "name",
            256,
        ),
        ("X" * 70 + ",Masło,Mlekovita,,dairy,5,200,g,yes,2025-01-01T00:00:00Z,\n", "sku", 64),
        (
            "LONG-CAT,Masło,Mlekovita,," + "c" * 200 + ",5,200,g,yes,2025-01-01T00:00:00Z,\n",
            "category",
            128,
        ),
    ],
    ids=["name-300", "sku-70", "category-200"],
)
def test_a_product_field_longer_than_its_column_is_a_bad_line(
    seeded: Engine, bad_line: str, column: str, most: int
) -> None:
    before = _count(seeded, ProductRow)
    with (
        pytest.raises(ImportRejectedError) as caught,
        session_factory(seeded)() as session,
        session.begin(),
    ):
        import_products(
            session, _product_file(bad_line), currency="PLN", imported_by="t", now=START
        )
    [problem] = caught.value.fields["problems"]
    assert problem["line"] == 7
    assert column in problem["reason"]
    assert f"at most {most}" in problem["reason"]
    assert _count(seeded, ProductRow) == before


def test_a_promotion_id_longer_than_the_api_takes_is_a_bad_line(seeded: Engine) -> None:
    text = (
        "id,name,kind,skus,percent,valid_from,valid_until\n"
        "OK-1,Dobra,percent_off,MLK-1,10,2026-04-01T00:00:00Z,2026-04-08T00:00:00Z\n"
        + "P" * 80
        + ",Za długi,percent_off,CHS-1,10,2026-04-01T00:00:00Z,2026-04-08T00:00:00Z\n"
    )
    with (
        pytest.raises(ImportRejectedError) as caught,
        session_factory(seeded)() as session,
        session.begin(),
    ):
        import_promotions(session, text, currency="PLN", imported_by="t", now=START)
    assert caught.value.fields["problems"] == [
        {"line": 3, "reason": "id is 80 characters long, at most 64"}
    ]
    assert _count(seeded, PromotionRow) == 0


def test_an_http_product_file_with_an_over_long_name_names_its_line(api: Api) -> None:
    bad = "LONG-NAME," + "M" * 300 + ",Mlekovita,,dairy,5,200,g,yes,2025-01-01T00:00:00Z,\n"
    response = api.client.post(
        "/api/v1/imports/products",
        headers={"X-API-Key": api.keys["pricing"]},
        files={"file": ("products.csv", _product_file(bad).encode(), "text/csv")},
    )
    assert response.status_code == 422, response.text
    body = response.json()["error"]
    assert body["code"] == "import_rejected", body
    assert [p["line"] for p in body["problems"]] == [7]


def test_a_product_name_as_long_as_its_column_imports(seeded: Engine) -> None:
    line = "FULL-NAME," + "M" * 256 + ",Mlekovita,,dairy,5,200,g,yes,2025-01-01T00:00:00Z,\n"
    with session_factory(seeded)() as session, session.begin():
        import_products(session, _product_file(line), currency="PLN", imported_by="t", now=START)
    with session_factory(seeded)() as session:
        assert len(session.get(ProductRow, "FULL-NAME").name) == 256  # type: ignore[union-attr]


def test_an_uploaded_file_named_longer_than_a_title_imports_under_its_name_cut(
    api: Api,
) -> None:
    name = "ceny-" + "x" * 300 + ".csv"
    text = (
        "sku,scope,channel,store_or_zone,price,currency,valid_from,valid_until\n"
        "MLK-1,national,,,3.49,PLN,,\n"
    )
    response = api.client.post(
        "/api/v1/imports/prices",
        headers=api.headers("pricing"),
        files={"file": (name, text.encode(), "text/csv")},
    )
    assert response.status_code == 200, response.text
    with session_factory(api.engine)() as session:
        title = session.get(PublicationRow, response.json()["publication_id"]).title  # type: ignore[union-attr]
    assert len(title) == 256
    assert title == name[:255] + "…"
