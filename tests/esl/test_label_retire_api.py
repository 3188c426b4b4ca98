"""POST /labels/{id}/retire: a broken or thrown-away label leaves the audit, health and
keep-alive (tests/pipeline/test_retired_labels.py). Store staff retire their own store's
labels only; retiring twice is one retirement; a BLE label still associated is refused
until unassociated; bad input changes nothing; a retired label is not bound again nor
registered again."""

from __future__ import annotations

from typing import Any

from esl.db.engine import session_factory
from esl.db.models import LabelRow
from tests.support.api import Api
from tests.support.ble_inventory import DEVICE, GATEWAY, associated, post_inventory


def _retire(api: Api, label_id: str, role: str = "store") -> Any:
    return api.client.post(f"/api/v1/labels/{label_id}/retire", headers=api.headers(role))


def _retired_at(api: Api, label_id: str) -> object:
    with session_factory(api.engine)() as session:
        label = session.get(LabelRow, label_id)
        assert label is not None
        return label.retired_at


def test_store_staff_retire_their_own_stores_labels_once(api: Api) -> None:
    api.add_labels({"L-1": "S01", "L-K": "S03"})
    store = api.headers("store")
    assert api.client.post(
        "/api/v1/labels/L-1/bind", json={"code": "MLK-1"}, headers=store
    ).is_success

    other = _retire(api, "L-K")
    unknown = _retire(api, "L-nowhere")
    auditor = _retire(api, "L-1", role="auditor")
    assert (other.status_code, unknown.status_code, auditor.status_code) == (403, 404, 403)
    assert _retired_at(api, "L-K") is None
    assert _retired_at(api, "L-1") is None

    retired = _retire(api, "L-1")
    again = _retire(api, "L-1", role="admin")
    assert retired.status_code == 200, retired.text
    body = retired.json()
    assert body["retired_by"] == "store-key"
    assert body["retired_at"] is not None
    assert body["binding"] is None, "its binding ended"
    assert again.json() == body

    rebind = api.client.post("/api/v1/labels/L-1/bind", json={"code": "MLK-1"}, headers=store)
    assert rebind.status_code == 409
    assert "retired" in rebind.json()["error"]["message"]
    again_registered = api.client.post(
        "/api/v1/labels", json={"id": "L-1", "store": "S01", "model": "2.9-bwr"}, headers=store
    )
    assert again_registered.status_code == 409
    assert "retired" in again_registered.json()["error"]["message"]
    assert api.client.get("/api/v1/labels/L-1", headers=store).json() == body


def test_a_ble_label_still_associated_is_unassociated_first(api: Api) -> None:
    api.add_labels({"L-1": "S01"})
    assert post_inventory(api, associated("L-1", DEVICE, 0)).status_code == 200

    refused = _retire(api, "L-1")
    assert refused.status_code == 409
    assert "unassociate it first" in refused.json()["error"]["message"]
    assert _retired_at(api, "L-1") is None

    forced = api.client.delete(
        "/api/v1/stores/S01/ble/inventory/L-1?force=true", headers=api.headers("store")
    )
    assert forced.status_code == 200, forced.text
    assert _retire(api, "L-1").status_code == 200
    assert _retired_at(api, "L-1") is not None
    kit = api.client.post(
        "/api/v1/stores/S01/ble/association-kit",
        json={"gateway": GATEWAY, "label_ids": ["L-1"]},
        headers=api.headers("admin"),
    )
    assert kit.status_code == 422
    assert "retired" in kit.text
