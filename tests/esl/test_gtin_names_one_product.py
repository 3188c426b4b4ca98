"""A scanned barcode binds a label to the product it names: store staff bind labels by
scanning the product (`POST /labels/{id}/bind`, the console, `esl label bind`). Two
products sharing one GTIN were accepted (by the product file and `PUT /products`), and a
scan of it bound the label to the alphabetically first: the shelf showed another
product's price while the record called the binding what staff asked for (found by
review). One GTIN now names one product, whichever form it is written in (an EAN-13, or
the GTIN-14 with a leading zero); a database written before may hold twins, and a scan
of theirs is refused, naming them."""

from __future__ import annotations

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from esl.db.models import ProductRow
from tests.support.api import Api
from tests.support.database import PRODUCTS_CSV

MILK_GTIN = "5900820000011"  # MLK-1's, seeded
HEADER = PRODUCTS_CSV.splitlines()[0]


def _product_line(sku: str, gtin: str, name: str = "Mleko bez laktozy 1 l") -> str:
    return f"{sku},{name},Łaciate,{gtin},dairy,5,1,l,yes,2025-01-01T00:00:00Z,\n"


def _stored_skus(engine: Engine) -> list[str]:
    with Session(engine) as session:
        return list(session.scalars(select(ProductRow.sku).order_by(ProductRow.sku)))


def test_a_product_file_giving_a_stored_products_gtin_to_another_is_refused(
    api: Api, seeded: Engine
) -> None:
    before = _stored_skus(seeded)
    for gtin in (MILK_GTIN, "0" + MILK_GTIN):  # the EAN-13, and its GTIN-14 form
        answer = api.import_csv("products", f"{HEADER}\n" + _product_line("AAA-1", gtin))
        assert answer.status_code == 422, answer.text
        problems = answer.json()["error"]["problems"]
        assert problems == [
            {
                "line": 2,
                "reason": f"GTIN {gtin} is also product MLK-1's: a scanned barcode must "
                "name one product",
            }
        ]
    assert _stored_skus(seeded) == before


def test_a_upc_and_the_same_code_as_an_ean_13_are_one_gtin(api: Api) -> None:
    # A UPC-A (12 digits) is the EAN-13 with a leading zero: one product's code.
    upc = _product_line("UPC-1", "012345678905")
    assert api.import_csv("products", f"{HEADER}\n{upc}").status_code == 200
    ean = _product_line("UPC-2", "0012345678905")
    answer = api.import_csv("products", f"{HEADER}\n{ean}")
    assert answer.status_code == 422, answer.text
    assert "UPC-1" in answer.json()["error"]["problems"][0]["reason"]
    api.add_labels({"L-1": "S01"})
    for scanned in ("0012345678905", "00012345678905"):  # as a scanner may type it
        bound = api.client.post(
            "/api/v1/labels/L-1/bind", json={"code": scanned}, headers=api.headers("store")
        )
        assert (bound.status_code, bound.json().get("sku")) == (200, "UPC-1"), bound.text


def test_two_lines_of_one_file_with_one_gtin_are_both_refused(api: Api, seeded: Engine) -> None:
    twins = _product_line("AAA-1", "5901234123457") + _product_line("AAA-2", "5901234123457")
    answer = api.import_csv("products", f"{HEADER}\n{twins}")
    assert answer.status_code == 422, answer.text
    assert [problem["line"] for problem in answer.json()["error"]["problems"]] == [2, 3]
    assert "AAA-1" not in _stored_skus(seeded)


def test_a_file_moving_a_gtin_from_one_product_to_another_is_taken(api: Api) -> None:
    # Corrected master data: MLK-1's GTIN was AAA-1's all along; in one file, both lines.
    moved = _product_line("MLK-1", "", name="Mleko 3.2% 1 l") + _product_line("AAA-1", MILK_GTIN)
    answer = api.import_csv("products", f"{HEADER}\n{moved}")
    assert answer.status_code == 200, answer.text
    api.add_labels({"L-1": "S01"})
    bound = api.client.post(
        "/api/v1/labels/L-1/bind", json={"code": MILK_GTIN}, headers=api.headers("store")
    )
    assert bound.status_code == 200, bound.text
    assert bound.json()["sku"] == "AAA-1"


def test_put_product_with_another_products_gtin_is_a_conflict(api: Api) -> None:
    body = {
        "name": "Mleko bez laktozy 1 l",
        "gtin": MILK_GTIN,
        "vat_rate": "5",
        "net_content": "1",
        "net_unit": "l",
        "on_sale_since": "2025-01-01T00:00:00Z",
    }
    answer = api.client.put("/api/v1/products/AAA-1", json=body, headers=api.headers("pricing"))
    assert answer.status_code == 409, answer.text
    assert "MLK-1" in answer.json()["error"]["message"]
    missing = api.client.get("/api/v1/products/AAA-1", headers=api.headers("pricing"))
    assert missing.status_code == 404
    # Its own GTIN again is no clash.
    mine = api.client.get("/api/v1/products/MLK-1", headers=api.headers("pricing")).json()
    mine = {key: mine[key] for key in body} | {"name": "Mleko 3,2% 1 l"}
    again = api.client.put("/api/v1/products/MLK-1", json=mine, headers=api.headers("pricing"))
    assert again.status_code == 200, again.text


def test_a_scan_of_twins_stored_before_the_check_is_refused_naming_them(
    api: Api, seeded: Engine
) -> None:
    with Session(seeded) as session, session.begin():  # written before GTINs were checked
        session.execute(update(ProductRow).where(ProductRow.sku == "CHS-1").values(gtin=MILK_GTIN))
    api.add_labels({"L-1": "S01"})
    store = api.headers("store")
    scanned = api.client.post("/api/v1/labels/L-1/bind", json={"code": MILK_GTIN}, headers=store)
    assert scanned.status_code == 409, scanned.text
    assert "CHS-1, MLK-1" in scanned.json()["error"]["message"]
    label = api.client.get("/api/v1/labels/L-1", headers=store)
    assert label.json()["binding"] is None  # nothing bound
    by_sku = api.client.post("/api/v1/labels/L-1/bind", json={"code": "MLK-1"}, headers=store)
    assert by_sku.status_code == 200, by_sku.text
    assert by_sku.json()["sku"] == "MLK-1"
