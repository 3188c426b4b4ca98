"""The API refuses what it should, with the status its OpenAPI document declares."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.api import Api
from tests.support.database import START

PUBLICATIONS = "/api/v1/publications"


def _post(api: Api, item: dict[str, Any], **body: Any) -> Any:
    return api.client.post(
        PUBLICATIONS,
        json={"title": "t", "items": [item], **body},
        headers=api.headers("pricing"),
    )


def _places(response: Any) -> set[tuple[str, ...]]:
    return {tuple(p["location"]) for p in response.json()["error"]["problems"]}


def test_each_action_needs_its_own_fields_and_nothing_is_stored_without_them(api: Api) -> None:
    no_kind = _post(api, {"action": "upsert_promotion", "categories": ["dairy"]})
    assert no_kind.status_code == 422
    assert ("body", "items", "0", "upsert_promotion", "kind") in _places(no_kind)
    assert ("body", "items", "0", "upsert_promotion", "promotion_id") in _places(no_kind)
    no_amount = _post(api, {"action": "set_price", "sku": "MLK-1"})
    assert ("body", "items", "0", "set_price", "amount") in _places(no_amount)
    no_id = _post(api, {"action": "end_promotion"})
    assert ("body", "items", "0", "end_promotion", "promotion_id") in _places(no_id)
    listed = api.client.get(PUBLICATIONS, headers=api.headers("pricing")).json()
    assert listed["total"] == 0


def test_a_wrong_action_or_a_wrong_type_is_refused_with_its_place_and_nothing_stored(
    api: Api,
) -> None:
    unknown = _post(api, {"action": "raise_price", "sku": "MLK-1", "amount": "3.29"})
    assert unknown.status_code == 422
    reasons = " ".join(p["reason"] for p in unknown.json()["error"]["problems"])
    # The reason lists the actions there are.
    assert "set_price" in reasons
    assert "end_promotion" in reasons
    wrong_type = _post(api, {"action": "set_price", "sku": "MLK-1", "amount": ["3.29"]})
    assert wrong_type.status_code == 422
    assert ("body", "items", "0", "set_price", "amount") in _places(wrong_type)
    wrong_kind = _post(
        api, {"action": "upsert_promotion", "promotion_id": "P", "kind": "half_off", "percent": 5}
    )
    assert ("body", "items", "0", "upsert_promotion", "kind") in _places(wrong_kind)
    listed = api.client.get(PUBLICATIONS, headers=api.headers("pricing")).json()
    assert listed["total"] == 0


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/v1/audit", {"at": "0.5"}),
        ("/api/v1/ledger", {"until": "0.5"}),
        ("/api/v1/prices", {"current_at": "0.5"}),
        ("/api/v1/quote", {"sku": "MLK-1", "store": "S01", "at": "1796280000"}),
        ("/api/v1/quote", {"sku": "MLK-1", "store": "S01", "at": "2026-05-01T00:00:00"}),
    ],
)
def test_an_instant_needs_iso_text_with_an_offset(
    api: Api, path: str, params: dict[str, str]
) -> None:
    response = api.client.get(path, params=params, headers=api.headers("admin"))
    assert response.status_code == 422, response.text


@pytest.mark.parametrize("amount", ["3_49", "1e2", "3,49", " "])
def test_an_amount_that_is_not_plain_decimal_text_is_refused(api: Api, amount: str) -> None:
    # Decimal() reads "3_49" as 349 and "1e2" as 100: a slip of the finger, a price
    # a hundred times higher.
    response = _post(api, {"action": "set_price", "sku": "MLK-1", "amount": amount})
    assert response.status_code == 422, response.text
    assert "is not a decimal number" in response.text
    listed = api.client.get(PUBLICATIONS, headers=api.headers("pricing")).json()
    assert listed["total"] == 0


def test_a_number_as_valid_from_is_refused(api: Api) -> None:
    response = _post(
        api,
        {
            "action": "upsert_promotion",
            "promotion_id": "P1",
            "kind": "percent_off",
            "percent": "10",
            "skus": ["MLK-1"],
            "valid_from": 0,
        },
    )
    assert response.status_code == 422
    assert "not a number" in response.text


def test_authentication_comes_before_validation(api: Api) -> None:
    assert api.client.get("/api/v1/quote").status_code == 401
    malformed = api.client.post(
        PUBLICATIONS, content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert malformed.status_code == 401
    assert malformed.headers["WWW-Authenticate"] == "APIKey"
    wrong_key = api.client.get("/api/v1/quote", headers={"X-API-Key": "esl_nope"})
    assert wrong_key.status_code == 401


def test_malformed_json_and_a_wrong_method_answer_as_documented(api: Api) -> None:
    pricing = api.headers("pricing")
    malformed = api.client.post(
        PUBLICATIONS, content=b"\xff{", headers={**pricing, "Content-Type": "application/json"}
    )
    assert malformed.status_code == 422
    assert malformed.json()["error"]["code"] == "invalid_request"
    wrong = api.client.delete(PUBLICATIONS, headers=pricing)
    assert wrong.status_code == 405
    assert wrong.headers["Allow"] == "GET, POST"


def test_a_gateway_serving_labels_cannot_move_to_another_store(api: Api) -> None:
    admin = api.headers("admin")
    gateway = {"store": "S02", "transport": "mqtt", "name": "Gdynia 2"}
    assert api.client.put("/api/v1/gateways/GW2", json=gateway, headers=admin).status_code == 200
    label = {"id": "L-1", "store": "S02", "model": "2.9-bwr", "gateway": "GW2"}
    assert api.client.post("/api/v1/labels", json=label, headers=admin).status_code == 201
    moved = api.client.put("/api/v1/gateways/GW2", json=gateway | {"store": "S01"}, headers=admin)
    assert moved.status_code == 409
    assert moved.json()["error"]["message"] == (
        "gateway GW2 serves 1 label(s) of store S02: it moves to S01 once they are retired "
        "(POST /labels/{id}/retire)"
    )
    renamed = api.client.put(
        "/api/v1/gateways/GW2", json=gateway | {"name": "Gdynia"}, headers=admin
    )
    assert renamed.status_code == 200


def test_a_gateway_id_no_mqtt_topic_can_carry_is_refused_and_no_label_registers_on_it(
    api: Api,
) -> None:
    # docs/protocol.md: gateway ids are 1-64 of A-Z a-z 0-9 _ -; gw.1's frames would be
    # refused at every send (esl/v1/S01/gw.1/down is no topic of ours).
    admin = api.headers("admin")
    gateway = {"store": "S01", "transport": "mqtt", "name": "Oliwa"}
    refused = api.client.put("/api/v1/gateways/gw.1", json=gateway, headers=admin)
    assert refused.status_code == 422
    assert _places(refused) == {("path", "gateway_id")}
    label = {"id": "L-1", "store": "S01", "model": "2.9-bwr", "gateway": "gw.1"}
    not_registered = api.client.post("/api/v1/labels", json=label, headers=admin)
    assert not_registered.status_code == 422
    assert _places(not_registered) == {("body", "gateway")}
    gateways = api.client.get("/api/v1/gateways", headers=admin).json()
    assert gateways["total"] == 0


@pytest.mark.parametrize(
    ("amount", "currency", "unit"),
    [
        ("12.345", None, "2 decimal place(s)"),
        ("99999.99", "JPY", "no decimals"),
        ("1299.50", "HUF", "no decimals"),  # a forint price is whole forints
    ],
)
def test_an_amount_finer_than_its_currency_is_refused(
    api: Api, amount: str, currency: str | None, unit: str
) -> None:
    item = {"action": "set_price", "sku": "MLK-1", "amount": amount}
    if currency:
        item["currency"] = currency
    response = _post(api, item)
    assert response.status_code == 422
    error = response.json()["error"]
    assert f"(its minor unit: {unit})" in error["message"]
    assert error["minor_unit"] == (0 if currency in ("JPY", "HUF") else 2)


def test_an_effective_instant_in_the_past_is_refused(api: Api) -> None:
    response = _post(
        api,
        {"action": "set_price", "sku": "MLK-1", "amount": "2.99"},
        effective_at=START.replace(year=2000).isoformat(),
    )
    assert response.status_code == 422
    assert "the past cannot be rewritten" in response.json()["error"]["message"]


def test_health_of_an_unknown_store_is_404(api: Api) -> None:
    response = api.client.get(
        "/api/v1/health/labels", params={"store": "NOPE"}, headers=api.headers("admin")
    )
    assert response.status_code == 404
    assert response.json()["error"]["message"] == "no store NOPE"


def test_a_single_valued_query_parameter_given_twice_is_refused(api: Api) -> None:
    auditor = api.headers("auditor")
    twice = api.client.get("/api/v1/labels?offset=0&offset=0", headers=auditor)
    assert twice.status_code == 422
    assert twice.json()["error"]["problems"] == [
        {"location": ["query", "offset"], "reason": "takes one value, given twice"}
    ]
    # Array parameters are repeated by design.
    stores = api.client.get("/api/v1/health/labels?store=S01&store=S02", headers=auditor)
    assert stores.status_code == 200
    assert api.client.get("/api/v1/labels?offset=0&offset=0").status_code == 401


@pytest.mark.parametrize("quantity", [True, "2", 2.0])
def test_a_multi_buy_quantity_must_be_a_whole_json_number(api: Api, quantity: Any) -> None:
    # pydantic would read `true` as 1: "1 for 5,00" on the shelf from a client's slip.
    response = _post(
        api,
        {
            "action": "upsert_promotion",
            "promotion_id": "P1",
            "kind": "multi_buy",
            "quantity": quantity,
            "amount": "5.00",
            "skus": ["MLK-1"],
        },
    )
    assert response.status_code == 422, response.text
    assert ("body", "items", "0", "upsert_promotion", "quantity") in _places(response)
    listed = api.client.get(PUBLICATIONS, headers=api.headers("pricing")).json()
    assert listed["total"] == 0
