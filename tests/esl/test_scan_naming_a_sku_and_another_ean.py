"""A scanned code that is one product's SKU and another product's EAN names two products
(docs/api.md: a scan must never pick one of two). A chain's digit-only article numbers
may spell a supplier's EAN-8: scanning the kefir bound its label to the yoghurt whose SKU
is those digits, and the controller and the audit called the yoghurt's label right."""

from __future__ import annotations

from tests.support.api import Api
from tests.support.database import PRODUCTS_CSV

HEADER = PRODUCTS_CSV.splitlines()[0]
PRODUCTS = (
    f"{HEADER}\n"
    "96385074,Jogurt naturalny 400 g,Bakoma,5900820000028,dairy,5,400,g,yes,2025-01-01T00:00:00Z,\n"
    "KEF-1,Kefir 1 l,Piątnica,96385074,dairy,5,1,l,yes,2025-01-01T00:00:00Z,\n"
)


def _bind(api: Api, code: str) -> tuple[int, dict[str, object]]:
    answer = api.client.post(
        "/api/v1/labels/L-1/bind", json={"code": code}, headers=api.headers("store")
    )
    return answer.status_code, answer.json()


def test_a_code_naming_a_sku_and_another_products_ean_is_refused_naming_both(api: Api) -> None:
    assert api.import_csv("products", PRODUCTS).status_code == 200
    api.add_labels({"L-1": "S01"})
    status, body = _bind(api, "96385074")
    assert status == 409, body
    error = body["error"]
    assert isinstance(error, dict)
    assert "96385074" in error["message"]
    assert "KEF-1" in error["message"]
    # Each product can still be bound by a code naming it alone.
    assert _bind(api, "KEF-1") == (200, {**_bind(api, "KEF-1")[1], "sku": "KEF-1"})
    assert _bind(api, "5900820000028")[1]["sku"] == "96385074"


def test_a_sku_of_no_barcodes_length_is_bound_beside_a_zero_padded_ean(api: Api) -> None:
    # 1234565 has seven digits: no scanner types it, so it is a typed SKU, though its
    # zero-padded form is another product's EAN-8 (found by a reviewer: 409 for a while).
    products = (
        f"{HEADER}\n"
        "1234565,Jogurt naturalny 400 g,Bakoma,,dairy,5,400,g,yes,2025-01-01T00:00:00Z,\n"
        "KEF-1,Kefir 1 l,Piątnica,01234565,dairy,5,1,l,yes,2025-01-01T00:00:00Z,\n"
    )
    assert api.import_csv("products", products).status_code == 200
    api.add_labels({"L-1": "S01"})
    assert _bind(api, "01234565")[1]["sku"] == "KEF-1"
    status, body = _bind(api, "1234565")
    assert (status, body["sku"]) == (200, "1234565")
