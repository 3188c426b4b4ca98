"""A bidirectional override, embedding or isolate (U+202A-U+202E, U+2066-U+2069) is
refused in a name where it enters, as a control character is (esl/one_line_text.py):
PUT /products/MLK-1 with the name "Mleko \\u202e99,2" answered 200 and the label drew
"Mleko 2,99". And a product's web address holding NUL was stored by SQLite and a generic
422 on PostgreSQL, while the CSV files refuse NUL: now 422 naming `web_url`.

Found by a reviewer (/tmp/rev-review19)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine

from esl.db.engine import session_factory
from esl.db.models import ProductRow, PromotionRow, StoreRow
from esl.errors import ImportRejectedError
from esl.imports import import_products
from tests.support.api import MILK_PRODUCT as PRODUCT
from tests.support.api import Api
from tests.support.database import START

DIRECTION_CONTROLS = [chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))]


def _reasons(response: Any) -> dict[tuple[str, ...], str]:
    return {tuple(p["location"]): p["reason"] for p in response.json()["error"]["problems"]}


def _product(engine: Engine, sku: str) -> ProductRow | None:
    with session_factory(engine)() as session:
        return session.get(ProductRow, sku)


@pytest.mark.parametrize("control", DIRECTION_CONTROLS, ids=repr)
def test_a_product_name_with_a_direction_control_is_refused_naming_the_field(
    api: Api, control: str
) -> None:
    before = _product(api.engine, "MLK-1")
    assert before is not None
    product = {**PRODUCT, "name": f"Mleko {control}99,2"}
    answer = api.client.put("/api/v1/products/MLK-1", json=product, headers=api.headers("pricing"))
    assert answer.status_code == 422, answer.text
    reason = _reasons(answer)[("body", "name")]
    assert f"(U+{ord(control):04X})" in reason
    assert "direction controls" in reason
    after = _product(api.engine, "MLK-1")
    assert after is not None
    assert after.name == before.name


def test_store_and_promotion_names_with_a_direction_control_are_refused(api: Api) -> None:
    store = api.client.put(
        "/api/v1/stores/S01",
        json={"name": "Gdańsk \u202eOliwa", "zone": "north"},
        headers=api.headers("admin"),
    )
    assert store.status_code == 422, store.text
    assert "U+202E" in _reasons(store)[("body", "name")]
    item = {
        "action": "upsert_promotion",
        "promotion_id": "P-1",
        "name": "Dobra \u2067cena",
        "kind": "percent_off",
        "percent": "10",
        "skus": ["MLK-1"],
    }
    body = {"title": "bidi", "items": [item]}
    posted = api.client.post("/api/v1/publications", json=body, headers=api.headers("pricing"))
    assert posted.status_code == 422, posted.text
    assert "U+2067" in str(posted.json()["error"]["problems"])
    with session_factory(api.engine)() as session:
        assert session.get(StoreRow, "S01").name == "Gdańsk Oliwa"  # type: ignore[union-attr]
        assert session.get(PromotionRow, "P-1") is None


def test_a_product_file_names_a_direction_control_in_a_name(seeded: Engine) -> None:
    text = (
        "sku,name,brand,gtin,category,vat_rate,net_content,net_unit,perishable,on_sale_since\n"
        "MLK-9,Mleko \u202e1 l,Łaciate,,dairy,5,1,l,yes,2025-01-01T00:00:00Z\n"
    )
    with (
        pytest.raises(ImportRejectedError) as caught,
        session_factory(seeded)() as session,
        session.begin(),
    ):
        import_products(session, text, currency="PLN", imported_by="t", now=START)
    [problem] = caught.value.fields["problems"]
    assert problem["line"] == 2
    assert problem["reason"].startswith("name contains '\\u202e' (U+202E)"), problem
    assert _product(seeded, "MLK-9") is None


def test_a_web_address_with_nul_is_refused_naming_the_field(api: Api) -> None:
    product = {**PRODUCT, "web_url": "https://shop.example/mlk\x001"}
    answer = api.client.put("/api/v1/products/MLK-9", json=product, headers=api.headers("pricing"))
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["code"] == "invalid_request"
    assert "(U+0000)" in _reasons(answer)[("body", "web_url")]
    assert _product(api.engine, "MLK-9") is None
