"""A new product's SKU is spelled as the API can name it: a SKU spelled otherwise (a
space, a '#', a '|' that the promotion file reads as a list separator, a letter outside
ASCII) is a bad line of the product file, not a product nobody can read back, change or
promote. Files and publications that only refer to a SKU look it up: one spelled
otherwise that names no product is refused as unknown (one stored before the rule is
taken: test_skus_stored_before_the_spelling_rule.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, func, select

from esl.db.engine import session_factory
from esl.db.models import ProductRow, PromotionRow
from esl.errors import ImportRejectedError
from esl.imports import import_prices, import_promotions
from tests.support.api import Api
from tests.support.database import START

HEADER = (
    "sku,name,brand,gtin,category,vat_rate,net_content,net_unit,perishable,on_sale_since,web_url\n"
)
GOOD = "MLK-2,Mleko,Łaciate,,dairy,5,1,l,yes,2025-01-01T00:00:00Z,\n"
SPELLING = "ASCII letters, digits, '_', '.' and '-' only"


def _count(engine: Engine, row: type) -> int:
    with session_factory(engine)() as session:
        return session.scalar(select(func.count()).select_from(row)) or 0


@pytest.mark.parametrize("sku", ["MLK 2", "MLK|2", "MLK#2", "MLEKO-Ł", "MLK/2"])
def test_a_product_file_sku_the_api_cannot_name_is_a_bad_line(api: Api, sku: str) -> None:
    before = _count(api.engine, ProductRow)
    text = HEADER + GOOD + f'"{sku}",Mleko,Łaciate,,dairy,5,1,l,yes,2025-01-01T00:00:00Z,\n'
    imported = api.client.post(
        "/api/v1/imports/products",
        headers=api.headers("pricing"),
        files={"file": ("products.csv", text.encode(), "text/csv")},
    )
    assert imported.status_code == 422, imported.text
    assert imported.json()["error"]["problems"] == [
        {"line": 3, "reason": f"sku {sku!r}: {SPELLING}"}
    ]
    assert _count(api.engine, ProductRow) == before


def test_a_product_file_sku_the_api_names_imports_and_reads_back(api: Api) -> None:
    text = HEADER + GOOD.replace("MLK-2", "mlk_2.0-A")
    imported = api.client.post(
        "/api/v1/imports/products",
        headers=api.headers("pricing"),
        files={"file": ("products.csv", text.encode(), "text/csv")},
    )
    assert imported.status_code == 200, imported.text
    read = api.client.get("/api/v1/products/mlk_2.0-A", headers=api.headers("auditor"))
    assert read.status_code == 200, read.text


def test_a_price_file_names_an_unknown_badly_spelled_sku_as_unknown(seeded: Engine) -> None:
    text = (
        "sku,scope,channel,store_or_zone,price,currency,valid_from,valid_until\n"
        "MLK-1,national,,,3.49,PLN,,\n"
        "MLK 1,national,,,3.49,PLN,,\n"
    )
    with (
        pytest.raises(ImportRejectedError) as caught,
        session_factory(seeded)() as session,
        session.begin(),
    ):
        import_prices(session, text, currency="PLN", imported_by="t", now=START)
    assert caught.value.fields["problems"] == [{"line": 3, "reason": "unknown sku(s): MLK 1"}]


def test_a_promotion_file_names_an_unknown_badly_spelled_sku_in_its_list(seeded: Engine) -> None:
    text = (
        "id,name,kind,skus,percent,valid_from,valid_until\n"
        "P-1,Dobra,percent_off,MLK-1|CHS 1,10,2026-04-01T00:00:00Z,2026-04-08T00:00:00Z\n"
    )
    with (
        pytest.raises(ImportRejectedError) as caught,
        session_factory(seeded)() as session,
        session.begin(),
    ):
        import_promotions(session, text, currency="PLN", imported_by="t", now=START)
    assert caught.value.fields["problems"] == [{"line": 2, "reason": "unknown sku(s): CHS 1"}]
    assert _count(seeded, PromotionRow) == 0


@pytest.mark.parametrize(
    ("item", "field"),
    [
        ({"action": "set_price", "sku": "MLK 1", "amount": "3.49"}, "sku"),
        (
            {
                "action": "upsert_promotion",
                "promotion_id": "P-1",
                "kind": "percent_off",
                "percent": "10",
                "skus": ["MLK|1"],
            },
            "skus",
        ),
    ],
    ids=["set_price", "upsert_promotion"],
)
def test_a_publication_naming_an_unknown_badly_spelled_sku_is_refused_at_post(
    api: Api, item: dict[str, object], field: str
) -> None:
    """As the files refuse it (tests/esl/test_publication_references_refused_at_post.py)."""
    pricing = api.headers("pricing")
    created = api.client.post(
        "/api/v1/publications", headers=pricing, json={"title": "spelling", "items": [item]}
    )
    assert created.status_code == 422, created.text
    error = created.json()["error"]
    sku = "MLK 1" if field == "sku" else "MLK|1"
    assert (error["field"], error[field], error["message"]) == (
        field,
        [sku],
        f"unknown sku(s): {sku}",
    )
    assert _count(api.engine, PromotionRow) == 0
