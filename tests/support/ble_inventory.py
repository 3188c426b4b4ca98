"""What `esl gateway ble associate` posts to the controller for the labels it associated,
as the BLE inventory tests post it (store S01's key, gateway `GATEWAY`)."""

from __future__ import annotations

from typing import Any

from tests.support.api import Api

__all__ = ["DEVICE", "GATEWAY", "associated", "post_inventory"]

GATEWAY = "S01-ble1"
DEVICE = "C0:FF:EE:00:00:01"


def associated(label_id: str, address: str, esl_id: int) -> dict[str, Any]:
    """One label the kit associated: its BLE address, ESL address and what it reported."""
    return {
        "label_id": label_id,
        "address": address,
        "esl_id": esl_id,
        "esl_group": 0,
        "displays": [{"width": 296, "height": 128, "display_type": 2}],
        "max_image_index": 3,
        "leds": [],
        "associated_at": "2026-11-23T06:00:00Z",
    }


def post_inventory(api: Api, *labels: dict[str, Any]) -> Any:
    """POST /stores/S01/ble/inventory with the store's key: the answer."""
    return api.client.post(
        "/api/v1/stores/S01/ble/inventory",
        json={"gateway": GATEWAY, "labels": list(labels)},
        headers=api.headers("store"),
    )
