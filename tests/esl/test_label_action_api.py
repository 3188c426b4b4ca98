"""`POST /api/v1/labels/{id}/flash|ping|refresh|bind|unbind`: actions are queued for the
controller and read back with the label's answer; binding takes a SKU or a scanned EAN."""

from __future__ import annotations

import pytest

from tests.support.api import Api


@pytest.fixture
def labelled(api: Api) -> Api:
    api.add_labels({"L-1": "S01", "L-9": "S02"})
    return api


def test_a_flash_is_queued_for_the_controller_and_read_back(labelled: Api) -> None:
    store = labelled.headers("store")
    response = labelled.client.post("/api/v1/labels/L-1/flash", headers=store)
    assert response.status_code == 202
    action = response.json()
    assert (action["action"], action["status"], action["requested_by"]) == (
        "flash",
        "requested",
        "store-key",
    )
    again = labelled.client.get(
        f"/api/v1/labels/L-1/actions/{action['id']}", headers=labelled.headers("auditor")
    )
    assert again.status_code == 200
    assert again.json()["status"] == "requested"  # no controller runs in this test
    assert (
        labelled.client.get(
            f"/api/v1/labels/L-9/actions/{action['id']}", headers=labelled.headers("admin")
        ).status_code
        == 404
    )


def test_a_store_key_flashes_only_its_own_store_and_other_roles_not_at_all(
    labelled: Api,
) -> None:
    assert (
        labelled.client.post(
            "/api/v1/labels/L-9/ping", headers=labelled.headers("store")
        ).status_code
        == 403
    )
    for role in ("pricing", "auditor"):
        refused = labelled.client.post("/api/v1/labels/L-1/flash", headers=labelled.headers(role))
        assert refused.status_code == 403
    assert (
        labelled.client.post(
            "/api/v1/labels/NOPE/refresh", headers=labelled.headers("admin")
        ).status_code
        == 404
    )


def test_binding_by_a_scanned_ean_then_unbinding(labelled: Api) -> None:
    store = labelled.headers("store")
    bound = labelled.client.post(
        "/api/v1/labels/L-1/bind", json={"code": "5900820000011"}, headers=store
    )
    assert bound.status_code == 200, bound.text
    assert bound.json()["sku"] == "MLK-1"
    rebound = labelled.client.post("/api/v1/labels/L-1/bind", json={"code": "CHS-1"}, headers=store)
    assert rebound.json()["sku"] == "CHS-1"
    label = labelled.client.get("/api/v1/labels/L-1", headers=store).json()
    assert label["binding"]["sku"] == "CHS-1"
    unknown = labelled.client.post(
        "/api/v1/labels/L-1/bind", json={"code": "4000000000000"}, headers=store
    )
    assert unknown.status_code == 404
    assert "4000000000000" in unknown.json()["error"]["message"]
    assert labelled.client.get("/api/v1/labels/L-1", headers=store).json()["binding"]["sku"] == (
        "CHS-1"
    )  # a bad code changes nothing
    unbound = labelled.client.post("/api/v1/labels/L-1/unbind", headers=store)
    assert unbound.status_code == 200
    assert unbound.json()["unbound_at"] is not None
    assert labelled.client.post("/api/v1/labels/L-1/unbind", headers=store).status_code == 409
