"""A gateway moves to another store once it serves no label in service: its retired
labels keep it from moving no longer. docs/api.md: "a gateway that still serves labels
cannot move to another store (409)"; a retired label is sent nothing again and cannot be
un-retired, moved or deleted, so counting it kept the gateway in its store for good."""

from __future__ import annotations

from tests.support.api import Api

GATEWAY = {"store": "S01", "transport": "mqtt", "name": "Oliwa AP"}


def _register(api: Api, *labels: str) -> None:
    admin = api.headers("admin")
    assert api.client.put("/api/v1/gateways/GW-1", json=GATEWAY, headers=admin).status_code == 200
    for label_id in labels:
        label = {"id": label_id, "store": "S01", "model": "2.9-bwr", "gateway": "GW-1"}
        assert api.client.post("/api/v1/labels", json=label, headers=admin).status_code == 201


def _retire(api: Api, label_id: str) -> None:
    retired = api.client.post(f"/api/v1/labels/{label_id}/retire", headers=api.headers("store"))
    assert retired.status_code == 200, retired.text
    assert retired.json()["retired_at"] is not None


def test_a_gateway_whose_labels_are_all_retired_moves_to_another_store(api: Api) -> None:
    admin = api.headers("admin")
    _register(api, "L-1")
    _retire(api, "L-1")

    moved = api.client.put("/api/v1/gateways/GW-1", json={**GATEWAY, "store": "S02"}, headers=admin)

    assert moved.status_code == 200, moved.text
    assert moved.json()["store"] == "S02"
    # The retired label's record stays as it was: its store, its gateway, its retirement.
    label = api.client.get("/api/v1/labels/L-1", headers=admin).json()
    assert (label["store"], label["gateway"]) == ("S01", "GW-1")
    assert label["retired_at"] is not None
    # Neither store's health counts it (it is no store's label any more).
    for store in ("S01", "S02"):
        health = api.client.get(f"/api/v1/health/labels?store={store}", headers=admin)
        assert health.status_code == 200
        assert "L-1" not in health.text


def test_a_gateway_serving_a_label_in_service_stays_and_the_refusal_counts_only_those(
    api: Api,
) -> None:
    admin = api.headers("admin")
    _register(api, "L-1", "L-2")
    _retire(api, "L-1")

    refused = api.client.put(
        "/api/v1/gateways/GW-1", json={**GATEWAY, "store": "S02"}, headers=admin
    )

    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error["labels"] == 1
    assert "serves 1 label(s) of store S01" in error["message"]
    gateways = api.client.get("/api/v1/gateways", headers=admin).json()["items"]
    assert [(g["id"], g["store"]) for g in gateways] == [("GW-1", "S01")]
