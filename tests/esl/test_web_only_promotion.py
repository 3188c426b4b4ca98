"""Through the API: a web-only promotion below the web price validates, though the shelf's
national price is lower: on the web the national web price always wins (it was refused,
the shelf's price taken as one the promotion meets)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.support.api import Api

PRICES = (
    "sku,scope,channel,store_or_zone,price,currency\n"
    "CHS-1,national,,,5.00,PLN\n"
    "CHS-1,national,web,,8.00,PLN\n"
)


def _validate(api: Api, body: dict[str, Any]) -> dict[str, Any]:
    created = api.client.post("/api/v1/publications", json=body, headers=api.headers("pricing"))
    assert created.status_code == 201, created.text
    number = created.json()["id"]
    validated = api.client.post(
        f"/api/v1/publications/{number}/validate", headers=api.headers("pricing")
    )
    assert validated.status_code == 200, validated.text
    result: dict[str, Any] = validated.json()
    return result


def test_a_web_only_deal_below_the_web_price_validates(api: Api) -> None:
    loaded = api.import_csv("prices", PRICES)
    assert loaded.status_code == 200, loaded.text
    api.clock.advance(timedelta(hours=1))
    web = api.client.get(
        "/api/v1/quote", params={"sku": "CHS-1", "store": "S01", "channel": "web"},
        headers=api.headers("auditor"),
    ).json()  # fmt: skip
    assert web["regular_price"] == "8.00"
    body = {
        "title": "web deal",
        "items": [
            {"action": "upsert_promotion", "promotion_id": "WEB-6", "kind": "fixed_price",
             "amount": "6.00", "skus": ["CHS-1"], "channels": ["web"]},
        ],
    }  # fmt: skip
    result = _validate(api, body)
    assert result["status"] == "validated", result["problems"]
