"""Products a product file stored before the SKU spelling rule (41448f5: 'MLK 2',
'MLEKO-Ł' imported fine; no migration renames or refuses them) are on sale, priced and
labelled, and stay so: their prices can be changed and ended, they can be promoted and
bound, read and updated, by the API and by the files. Since that rule the publication
items' `sku` and `skus`, the binding's `sku`, the `/products/{sku}` path, and the price,
promotion and history files refused such a SKU, so a retailer could no longer change the
shelf price of a product the controller still priced and drew on its labels. The rule
now holds where a SKU is created only (a new product, by `PUT /products/{sku}` or the
product file); an unknown SKU is refused as unknown, as before.

Found by a reviewer (/tmp/rev-review19, test_review19_legacy_sku.py)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import quote as in_path

import pytest
from sqlalchemy import func, select

from esl.db.engine import session_factory
from esl.db.models import ProductRow
from esl.services.publication_commands import SetPrice
from tests.support.api import Api
from tests.support.database import START, insert_product_as_before
from tests.support.pipeline import publish

SPELLING = "ASCII letters, digits, '_', '.' and '-' only"
PRODUCT_HEADER = (
    "sku,name,brand,gtin,category,vat_rate,net_content,net_unit,perishable,on_sale_since,web_url\n"
)
PRICE_HEADER = "sku,scope,channel,store_or_zone,price,currency,valid_from,valid_until\n"


@pytest.fixture(params=["MLEKO-Ł", "MLK 2"])
def legacy_sku(api: Api, request: pytest.FixtureRequest) -> str:
    """A product stored by a product file before the spelling rule, priced at 3.49."""
    sku = str(request.param)
    sessions = session_factory(api.engine)
    with sessions.begin() as session:
        insert_product_as_before(session, sku)
    publish(sessions, [SetPrice(sku=sku, amount=Decimal("3.49"))], now=START)
    assert _quote(api, sku) == "3.49"
    api.clock.advance(timedelta(hours=1))
    return sku


def _quote(api: Api, sku: str) -> str | None:
    """S01's shelf price of `sku`, None when it has none."""
    quote = api.client.get(
        "/api/v1/quote", params={"sku": sku, "store": "S01"}, headers=api.headers("pricing")
    )
    if quote.status_code == 422 and quote.json()["error"]["code"] == "no_applicable_price":
        return None
    assert quote.status_code == 200, quote.text
    return str(quote.json()["price"])


def _publish(api: Api, *items: dict[str, Any]) -> dict[str, Any]:
    """The publication of `items`, created, validated and published; its last answer."""
    pricing = api.headers("pricing")
    body = {"title": "legacy SKU", "items": list(items)}
    created = api.client.post("/api/v1/publications", headers=pricing, json=body)
    assert created.status_code == 201, created.text
    number = created.json()["id"]
    validated = api.client.post(f"/api/v1/publications/{number}/validate", headers=pricing)
    assert validated.status_code == 200, validated.text
    published = api.client.post(f"/api/v1/publications/{number}/publish", headers=pricing)
    return {"status_code": published.status_code, **published.json()}


def test_its_price_is_changed_by_the_api(api: Api, legacy_sku: str) -> None:
    published = _publish(api, {"action": "set_price", "sku": legacy_sku, "amount": "3.79"})
    assert published["status_code"] == 200, published
    assert _quote(api, legacy_sku) == "3.79"


def test_its_price_is_ended_by_the_api(api: Api, legacy_sku: str) -> None:
    published = _publish(api, {"action": "end_price", "sku": legacy_sku})
    assert published["status_code"] == 200, published
    assert _quote(api, legacy_sku) is None


def test_it_is_promoted_by_the_api(api: Api, legacy_sku: str) -> None:
    promotion = {
        "action": "upsert_promotion",
        "promotion_id": "LEGACY-10",
        "kind": "percent_off",
        "percent": "10",
        "skus": [legacy_sku],
    }
    published = _publish(api, promotion)
    assert published["status_code"] == 200, published
    promotions = api.client.get("/api/v1/promotions", headers=api.headers("auditor")).json()
    assert [p["skus"] for p in promotions["items"]] == [[legacy_sku]]


def test_its_price_is_changed_by_a_price_file(api: Api, legacy_sku: str) -> None:
    answer = api.import_csv("prices", PRICE_HEADER + f"{legacy_sku},store,,S01,3.79,PLN,,\n")
    assert answer.status_code == 200, answer.text
    assert _quote(api, legacy_sku) == "3.79"


def test_a_label_is_bound_to_it_by_the_api(api: Api, legacy_sku: str) -> None:
    api.add_labels({"L-7": "S01"})
    bound = api.client.put(
        "/api/v1/labels/L-7/binding", json={"sku": legacy_sku}, headers=api.headers("store")
    )
    assert bound.status_code == 200, bound.text
    assert bound.json()["sku"] == legacy_sku


def test_it_is_read_and_updated_by_the_api_and_the_product_file(api: Api, legacy_sku: str) -> None:
    path = f"/api/v1/products/{in_path(legacy_sku)}"
    read = api.client.get(path, headers=api.headers("auditor"))
    assert read.status_code == 200, read.text
    product = {
        key: value
        for key, value in read.json().items()
        if key not in ("sku", "created_at", "updated_at")
    }
    put = api.client.put(
        path, headers=api.headers("pricing"), json={**product, "name": "Mleko 2 l"}
    )
    assert put.status_code == 200, put.text
    text = (
        PRODUCT_HEADER + f"{legacy_sku},Mleko 3 l,Łaciate,,dairy,5,1,l,yes,2025-01-01T00:00:00Z,\n"
    )
    imported = api.import_csv("products", text)
    assert imported.status_code == 200, imported.text
    assert api.client.get(path, headers=api.headers("auditor")).json()["name"] == "Mleko 3 l"


def _products(api: Api) -> int:
    with session_factory(api.engine)() as session:
        return session.scalar(select(func.count()).select_from(ProductRow)) or 0


@pytest.mark.parametrize("sku", ["MLEKO-Ł", "MLK 2"])
def test_a_new_product_is_still_spelled_as_the_rule_says(api: Api, sku: str) -> None:
    before = _products(api)
    product = {
        "name": "Mleko",
        "vat_rate": "5",
        "net_content": "1",
        "net_unit": "l",
        "on_sale_since": "2025-01-01T00:00:00Z",
    }
    put = api.client.put(
        f"/api/v1/products/{in_path(sku)}", headers=api.headers("pricing"), json=product
    )
    assert put.status_code == 422, put.text
    assert put.json()["error"]["message"] == f"sku {sku!r}: {SPELLING}"
    assert put.json()["error"]["field"] == "sku"
    text = PRODUCT_HEADER + f"{sku},Mleko,Łaciate,,dairy,5,1,l,yes,2025-01-01T00:00:00Z,\n"
    imported = api.import_csv("products", text)
    assert imported.status_code == 422, imported.text
    assert imported.json()["error"]["problems"] == [
        {"line": 2, "reason": f"sku {sku!r}: {SPELLING}"}
    ]
    assert _products(api) == before


def test_an_unknown_sku_is_refused_as_unknown(api: Api) -> None:
    pricing = api.headers("pricing")
    body = {"title": "unknown", "items": [{"action": "set_price", "sku": "MLK 9", "amount": "1"}]}
    created = api.client.post("/api/v1/publications", headers=pricing, json=body)
    assert created.status_code == 422, created.text
    assert created.json()["error"]["message"] == "unknown sku(s): MLK 9"
    assert api.client.get("/api/v1/publications", headers=pricing).json()["total"] == 0
    answer = api.import_csv("prices", PRICE_HEADER + "MLK 9,national,,,3.79,PLN,,\n")
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["problems"] == [{"line": 2, "reason": "unknown sku(s): MLK 9"}]
    api.add_labels({"L-7": "S01"})
    bound = api.client.put(
        "/api/v1/labels/L-7/binding", json={"sku": "MLK 9"}, headers=api.headers("store")
    )
    assert bound.status_code == 404, bound.text
    read = api.client.get("/api/v1/products/MLK%209", headers=api.headers("auditor"))
    assert read.status_code == 404, read.text


def test_a_sku_referred_to_is_one_line_within_its_column(api: Api) -> None:
    for sku in ("MLK\n1", "M" * 65):
        item = {"action": "set_price", "sku": sku, "amount": "1"}
        body = {"title": "bad", "items": [item]}
        posted = api.client.post("/api/v1/publications", headers=api.headers("pricing"), json=body)
        assert posted.status_code == 422, posted.text
        assert posted.json()["error"]["problems"][0]["location"][-1] == "sku"
