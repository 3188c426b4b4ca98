"""Every route for every role: 401 without a key, 403 outside the role, through otherwise."""

from __future__ import annotations

from typing import Any

import pytest

from esl.db.engine import session_factory
from esl.services.keys import revoke_key
from tests.support.api import Api, openapi_document
from tests.support.database import START

EVERYONE = frozenset({"pricing", "store", "auditor", "admin"})
PRICING = frozenset({"pricing", "admin"})
STORE = frozenset({"store", "admin"})
ADMIN = frozenset({"admin"})
PRICE_FILE = "sku,scope,price,currency\nMLK-1,national,3.49,PLN\n"
PUBLICATION = {"title": "t", "items": [{"action": "set_price", "sku": "MLK-1", "amount": "3.39"}]}
PRODUCT = {
    "name": "Mleko",
    "vat_rate": "5",
    "net_content": "1",
    "net_unit": "l",
    "on_sale_since": "2025-01-01T00:00:00Z",
}

AP_TAGS = {
    "gateway": "S01-ap1",
    "tags": [{"mac": "0000025800000001", "hw_type": 0xB3, "model": "2.9-bwr", "key": "5a" * 32}],
}

BLE_KIT = {"gateway": "S01-ble1", "label_ids": ["L-1"]}
BLE_INVENTORY = {
    "gateway": "S01-ble1",
    "labels": [
        {
            "label_id": "L-1",
            "address": "C0:FF:EE:00:00:01",
            "esl_id": 0,
            "esl_group": 0,
            "displays": [{"width": 296, "height": 128, "display_type": 2}],
            "max_image_index": 3,
            "leds": [],
            "associated_at": "2026-11-23T06:00:00Z",
        }
    ],
}

PRICE_ONLY_TEMPLATE = {
    "size_class": "medium",
    "regions": [{"name": "price", "fill": "price", "box": [0.05, 0.1, 0.9, 0.8]}],
}

# (method, route path, concrete path, request options, roles allowed)
ROUTES: list[tuple[str, str, str, dict[str, Any], frozenset[str]]] = [
    ("GET", "/api/v1/zones", "/api/v1/zones", {}, EVERYONE),
    ("PUT", "/api/v1/zones/{code}", "/api/v1/zones/east", {"json": {"name": "East"}}, ADMIN),
    ("GET", "/api/v1/stores", "/api/v1/stores", {}, EVERYONE),
    ("GET", "/api/v1/stores/{code}", "/api/v1/stores/S01", {}, EVERYONE),
    ("PUT", "/api/v1/stores/{code}", "/api/v1/stores/S09", {"json": {"name": "Nowy"}}, ADMIN),
    ("GET", "/api/v1/products", "/api/v1/products", {}, EVERYONE),
    ("GET", "/api/v1/products/{sku}", "/api/v1/products/MLK-1", {}, EVERYONE),
    ("PUT", "/api/v1/products/{sku}", "/api/v1/products/MLK-2", {"json": PRODUCT}, PRICING),
    ("GET", "/api/v1/label-models", "/api/v1/label-models", {}, EVERYONE),
    (
        "PUT",
        "/api/v1/label-models/{model_id}",
        "/api/v1/label-models/4.2-bwr",
        {"json": {"width": 400, "height": 300, "accent_colour": "red"}},
        ADMIN,
    ),
    ("GET", "/api/v1/prices", "/api/v1/prices", {}, EVERYONE),
    ("GET", "/api/v1/prices/export", "/api/v1/prices/export", {}, EVERYONE),
    ("GET", "/api/v1/promotions", "/api/v1/promotions", {}, EVERYONE),
    ("GET", "/api/v1/promotions/{promotion_id}", "/api/v1/promotions/NONE", {}, EVERYONE),
    ("GET", "/api/v1/ledger", "/api/v1/ledger", {}, EVERYONE),
    (
        "GET",
        "/api/v1/quote",
        "/api/v1/quote",
        {"params": {"sku": "MLK-1", "store": "S01"}},
        EVERYONE,
    ),
    ("GET", "/api/v1/publications", "/api/v1/publications", {}, EVERYONE),
    ("POST", "/api/v1/publications", "/api/v1/publications", {"json": PUBLICATION}, PRICING),
    ("GET", "/api/v1/publications/{publication_id}", "/api/v1/publications/1", {}, EVERYONE),
    (
        "POST",
        "/api/v1/publications/{publication_id}/validate",
        "/api/v1/publications/2/validate",
        {},
        PRICING,
    ),
    (
        "POST",
        "/api/v1/publications/{publication_id}/publish",
        "/api/v1/publications/2/publish",
        {},
        PRICING,
    ),
    (
        "POST",
        "/api/v1/imports/{kind}",
        "/api/v1/imports/prices",
        {"files": {"file": ("p.csv", PRICE_FILE, "text/csv")}},
        PRICING,
    ),
    ("GET", "/api/v1/gateways", "/api/v1/gateways", {}, EVERYONE),
    (
        "PUT",
        "/api/v1/gateways/{gateway_id}",
        "/api/v1/gateways/GW-1",
        {"json": {"store": "S01", "transport": "mqtt", "name": "Oliwa AP"}},
        ADMIN,
    ),
    ("GET", "/api/v1/labels", "/api/v1/labels", {}, EVERYONE),
    (
        "POST",
        "/api/v1/labels",
        "/api/v1/labels",
        {"json": {"id": "L-2", "store": "S01", "model": "2.9-bwr"}},
        STORE,
    ),
    ("GET", "/api/v1/labels/{label_id}", "/api/v1/labels/L-1", {}, EVERYONE),
    (
        "PUT",
        "/api/v1/labels/{label_id}/binding",
        "/api/v1/labels/L-1/binding",
        {"json": {"sku": "CFE-1"}},
        STORE,
    ),
    ("DELETE", "/api/v1/labels/{label_id}/binding", "/api/v1/labels/L-1/binding", {}, STORE),
    ("POST", "/api/v1/labels/{label_id}/flash", "/api/v1/labels/L-1/flash", {}, STORE),
    ("POST", "/api/v1/labels/{label_id}/ping", "/api/v1/labels/L-1/ping", {}, STORE),
    ("POST", "/api/v1/labels/{label_id}/refresh", "/api/v1/labels/L-1/refresh", {}, STORE),
    ("POST", "/api/v1/labels/{label_id}/set_clock", "/api/v1/labels/L-1/set_clock", {}, STORE),
    (
        "GET",
        "/api/v1/labels/{label_id}/actions/{action_id}",
        "/api/v1/labels/L-1/actions/1",
        {},
        EVERYONE,
    ),
    ("GET", "/api/v1/labels/{label_id}/vitals", "/api/v1/labels/L-1/vitals", {}, EVERYONE),
    (
        "POST",
        "/api/v1/labels/{label_id}/bind",
        "/api/v1/labels/L-1/bind",
        {"json": {"code": "5900820000011"}},
        STORE,
    ),
    ("POST", "/api/v1/labels/{label_id}/unbind", "/api/v1/labels/L-1/unbind", {}, STORE),
    (
        "POST",
        "/api/v1/stores/{store}/oepl/tags",
        "/api/v1/stores/S01/oepl/tags",
        {"json": AP_TAGS},
        STORE,
    ),
    (
        "POST",
        "/api/v1/stores/{store}/ble/association-kit",
        "/api/v1/stores/S01/ble/association-kit",
        {"json": BLE_KIT},
        ADMIN,
    ),
    (
        "POST",
        "/api/v1/stores/{store}/ble/inventory",
        "/api/v1/stores/S01/ble/inventory",
        {"json": BLE_INVENTORY},
        STORE,
    ),
    (
        "DELETE",
        "/api/v1/stores/{store}/ble/inventory/{label_id}",
        "/api/v1/stores/S01/ble/inventory/L-1",
        {},
        STORE,
    ),
    ("GET", "/api/v1/templates", "/api/v1/templates", {}, EVERYONE),
    (
        "PUT",
        "/api/v1/templates/{name}",
        "/api/v1/templates/price-only",
        {"json": PRICE_ONLY_TEMPLATE},
        PRICING,
    ),
    ("GET", "/api/v1/health/labels", "/api/v1/health/labels", {}, EVERYONE),
    ("GET", "/api/v1/health/controller", "/api/v1/health/controller", {}, EVERYONE),
    ("GET", "/api/v1/health/security", "/api/v1/health/security", {}, EVERYONE),
    ("GET", "/api/v1/audit", "/api/v1/audit", {}, frozenset({"auditor", "admin"})),
    # Last: it retires L-1, which later routes would then refuse (409) for every role.
    ("POST", "/api/v1/labels/{label_id}/retire", "/api/v1/labels/L-1/retire", {}, STORE),
]


def test_the_table_lists_every_route_of_the_api() -> None:
    schema = openapi_document()
    served = {
        (method.upper(), path)
        for path, operations in schema["paths"].items()
        for method in operations
    }
    assert served == {(method, path) for method, path, _, _, _ in ROUTES}


@pytest.fixture
def prepared(api: Api) -> Api:
    admin = api.headers("admin")
    api.client.post(
        "/api/v1/imports/prices", files={"file": ("p.csv", PRICE_FILE, "text/csv")}, headers=admin
    )
    api.client.post("/api/v1/publications", json=PUBLICATION, headers=admin)
    label = {"id": "L-1", "store": "S01", "model": "2.9-bwr"}
    assert api.client.post("/api/v1/labels", json=label, headers=admin).status_code == 201
    return api


@pytest.mark.parametrize("role", sorted(EVERYONE))
def test_each_role_reaches_exactly_its_routes(prepared: Api, role: str) -> None:
    outcomes = {}
    for method, route, path, options, allowed in ROUTES:
        response = prepared.client.request(method, path, headers=prepared.headers(role), **options)
        outcomes[(method, route)] = response.status_code
        if role in allowed:
            assert response.status_code not in (401, 403), (method, path, response.text)
            assert response.status_code < 500, (method, path, response.text)
        else:
            assert response.status_code == 403, (method, path, response.text)
            assert response.json()["error"]["code"] == "forbidden"
    assert len(outcomes) == len(ROUTES)


@pytest.mark.parametrize("headers", [{}, {"X-API-Key": "esl_not-a-key"}], ids=["none", "unknown"])
def test_every_route_refuses_a_caller_without_a_valid_key(
    prepared: Api, headers: dict[str, str]
) -> None:
    for method, _, path, options, _ in ROUTES:
        response = prepared.client.request(method, path, headers=headers, **options)
        assert response.status_code == 401, (method, path)
        assert response.json()["error"]["code"] == "not_authenticated"


def test_a_revoked_key_is_refused(prepared: Api) -> None:
    with session_factory(prepared.engine)() as session, session.begin():
        revoke_key(session, name="auditor-key", now=START)
    response = prepared.client.get("/api/v1/zones", headers=prepared.headers("auditor"))
    assert response.status_code == 401


def test_a_store_key_acts_in_its_own_store_only(prepared: Api) -> None:
    admin, store = prepared.headers("admin"), prepared.headers("store")
    other = {"id": "L-K", "store": "S03", "model": "2.9-bwr"}
    assert prepared.client.post("/api/v1/labels", json=other, headers=admin).status_code == 201

    assert (
        prepared.client.post(
            "/api/v1/labels", json={**other, "id": "L-K2"}, headers=store
        ).status_code
        == 403
    )
    bind = prepared.client.put("/api/v1/labels/L-K/binding", json={"sku": "MLK-1"}, headers=store)
    assert bind.status_code == 403
    assert prepared.client.get("/api/v1/labels/L-K", headers=store).status_code == 403
    listed = prepared.client.get("/api/v1/labels", headers=store).json()["items"]
    assert [label["id"] for label in listed] == ["L-1"]
    own = prepared.client.put("/api/v1/labels/L-1/binding", json={"sku": "MLK-1"}, headers=store)
    assert own.status_code == 200
    assert own.json()["bound_by"] == "store-key"
