"""A SKU or a store code differing from a stored one (or another line's) only in case is
not a second product or store (`esl.case_twins`).

A product file from another system wrote its SKUs in lower case: 'mlk-1', meant as
MLK-1's half-litre correction, was imported as a new product beside MLK-1 ("1 new"),
MLK-1's label kept its old net content, and the price, history and promotion files
refused 'mlk-1' as unknown. So did `PUT /products/{sku}`, and the store file and
`PUT /stores/{code}` with 's01' beside 'S01'. Creating one is now refused naming the
stored key; stored keys (even two stored before this rule differing only in case) are
updated as they are.

Found by a hunter (/tmp/rev-input, test_input_hunt.py)."""

from __future__ import annotations

from sqlalchemy import select

from esl.db.engine import session_factory
from esl.db.models import ProductRow, StoreRow
from tests.support.api import Api
from tests.support.database import insert_product_as_before

PRODUCTS = "sku,name,brand,gtin,category,vat_rate,net_content,net_unit,perishable,on_sale_since\n"
HALF_LITRE = 'Mleko 3.2% 0.5 l,Łaciate,,dairy,5,"0,5",l,yes,2025-01-01T00:00:00Z\n'
PRODUCT_BODY = {
    "name": "Mleko 0,5 l", "category": "dairy", "vat_rate": "5", "net_content": "0.5",
    "net_unit": "l", "on_sale_since": "2025-01-01T00:00:00Z",
}  # fmt: skip


def _skus(api: Api) -> list[str]:
    listed = api.client.get("/api/v1/products", headers=api.headers("pricing"))
    assert listed.status_code == 200, listed.text
    return sorted(p["sku"] for p in listed.json()["items"])


def _store_codes(api: Api) -> list[str]:
    with session_factory(api.engine)() as session:
        return sorted(session.scalars(select(StoreRow.code)))


def test_a_sku_differing_only_in_case_is_not_a_second_product(api: Api) -> None:
    # A product file from another system writes SKUs in lower case: meant as MLK-1's
    # half-litre correction, it creates product 'mlk-1' beside it, and MLK-1's label
    # keeps 1 l.
    response = api.import_csv(
        "products",
        "sku,name,brand,gtin,category,vat_rate,net_content,net_unit,perishable,on_sale_since\n"
        'mlk-1,Mleko 3.2% 0.5 l,Łaciate,,dairy,5,"0,5",l,yes,2025-01-01T00:00:00Z\n',
    )
    skus = sorted(
        p["sku"]
        for p in api.client.get("/api/v1/products", headers=api.headers("pricing")).json()["items"]
    )
    assert response.status_code == 422, f"accepted: {response.text}; products now {skus}"
    assert response.json()["error"]["problems"] == [
        {"line": 2, "reason": "mlk-1: differs from the stored SKU MLK-1 only in case; write MLK-1"}
    ]
    assert "mlk-1" not in skus


def test_two_lines_of_a_product_file_differing_only_in_case_are_one_product(api: Api) -> None:
    before = _skus(api)
    response = api.import_csv("products", PRODUCTS + "NEW-1," + HALF_LITRE + "new-1," + HALF_LITRE)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["problems"] == [
        {
            "line": 3,
            "reason": "new-1: differs from the SKU NEW-1 of line 2 only in case; write NEW-1",
        }
    ]
    assert _skus(api) == before


def test_the_stored_sku_as_written_is_updated(api: Api) -> None:
    response = api.import_csv("products", PRODUCTS + "MLK-1," + HALF_LITRE)
    assert response.status_code == 200, response.text
    assert response.json()["updated"] == 1


def test_products_stored_differing_only_in_case_are_each_updated(api: Api) -> None:
    with session_factory(api.engine).begin() as session:
        insert_product_as_before(session, "mlk-1")
    response = api.import_csv("products", PRODUCTS + "mlk-1," + HALF_LITRE)
    assert response.status_code == 200, response.text
    assert response.json()["updated"] == 1
    put = api.client.put(
        "/api/v1/products/mlk-1", json=PRODUCT_BODY, headers=api.headers("pricing")
    )
    assert put.status_code == 200, put.text


def test_put_product_of_a_sku_differing_only_in_case_is_refused(api: Api) -> None:
    before = _skus(api)
    put = api.client.put(
        "/api/v1/products/mlk-1", json=PRODUCT_BODY, headers=api.headers("pricing")
    )
    assert put.status_code == 409, put.text
    error = put.json()["error"]
    assert error["message"] == "mlk-1: differs from the stored SKU MLK-1 only in case; write MLK-1"
    assert error["field"] == "sku"
    assert _skus(api) == before
    with session_factory(api.engine)() as session:
        assert session.get(ProductRow, "MLK-1") is not None


def test_a_store_code_differing_only_in_case_is_not_a_second_store(api: Api) -> None:
    before = _store_codes(api)
    response = api.import_csv("stores", "code,name\nS04,Nowy\ns01,Oliwa\n", role="admin")
    assert response.status_code == 422, response.text
    assert response.json()["error"]["problems"] == [
        {"line": 3, "reason": "s01: differs from the stored store code S01 only in case; write S01"}
    ]
    again = api.import_csv("stores", "code,name\nS04,Nowy\ns04,Nowy\n", role="admin")
    assert again.status_code == 422, again.text
    assert again.json()["error"]["problems"] == [
        {
            "line": 3,
            "reason": "s04: differs from the store code S04 of line 2 only in case; write S04",
        }
    ]
    assert _store_codes(api) == before


def test_put_store_of_a_code_differing_only_in_case_is_refused(api: Api) -> None:
    before = _store_codes(api)
    put = api.client.put("/api/v1/stores/s01", json={"name": "Oliwa"}, headers=api.headers("admin"))
    assert put.status_code == 409, put.text
    assert put.json()["error"]["message"] == (
        "s01: differs from the stored store code S01 only in case; write S01"
    )
    assert _store_codes(api) == before
    stored = api.client.put(
        "/api/v1/stores/S01", json={"name": "Oliwa"}, headers=api.headers("admin")
    )
    assert stored.status_code == 200, stored.text
