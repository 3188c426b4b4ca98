"""Publications over HTTP: atomic, effective now or later, impact, the past stays as it was."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from esl.db.engine import session_factory
from esl.db.models import LedgerEntryRow, PriceRuleRow, PromotionRow
from tests.support.api import Api
from tests.support.database import START

PRICES = (
    "sku,scope,channel,store_or_zone,price,currency,valid_from,valid_until\n"
    "MLK-1,national,,,3.49,PLN,,\n"
    "CFE-1,national,,,59.99,PLN,,\n"
    "CHS-1,national,,,8.49,PLN,,\n"
)


def _load_prices(api: Api) -> None:
    response = api.client.post(
        "/api/v1/imports/prices",
        files={"file": ("prices.csv", PRICES, "text/csv")},
        headers=api.headers("pricing"),
    )
    assert response.status_code == 200, response.text
    api.clock.advance(timedelta(hours=1))


def _publish(api: Api, body: dict[str, Any]) -> Any:
    created = api.client.post("/api/v1/publications", json=body, headers=api.headers("pricing"))
    assert created.status_code == 201, created.text
    number = created.json()["id"]
    validated = api.client.post(
        f"/api/v1/publications/{number}/validate", headers=api.headers("pricing")
    )
    assert validated.status_code == 200, validated.text
    return api.client.post(f"/api/v1/publications/{number}/publish", headers=api.headers("pricing"))


def _validate(api: Api, body: dict[str, Any]) -> dict[str, Any]:
    created = api.client.post("/api/v1/publications", json=body, headers=api.headers("pricing"))
    number = created.json()["id"]
    validated = api.client.post(
        f"/api/v1/publications/{number}/validate", headers=api.headers("pricing")
    )
    assert validated.status_code == 200, validated.text
    result: dict[str, Any] = validated.json()
    return result


def _quote(api: Api, sku: str, store: str = "S01", at: str | None = None) -> dict[str, Any]:
    params = {"sku": sku, "store": store, **({"at": at} if at else {})}
    response = api.client.get("/api/v1/quote", params=params, headers=api.headers("auditor"))
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def _counts(api: Api) -> tuple[int, int, int]:
    with session_factory(api.engine)() as session:
        return (
            session.scalar(select(func.count()).select_from(PriceRuleRow)) or 0,
            session.scalar(select(func.count()).select_from(PromotionRow)) or 0,
            session.scalar(select(func.count()).select_from(LedgerEntryRow)) or 0,
        )


def test_publishing_changes_the_price_and_reports_prices_and_labels_changed(api: Api) -> None:
    _load_prices(api)
    label = {"id": "L-1", "store": "S01", "model": "2.9-bwr"}
    assert api.client.post("/api/v1/labels", json=label, headers=api.headers("store")).is_success
    bound = api.client.put(
        "/api/v1/labels/L-1/binding", json={"sku": "CFE-1"}, headers=api.headers("store")
    )
    assert bound.status_code == 200, bound.text

    response = _publish(
        api,
        {
            "title": "coffee down",
            "items": [{"action": "set_price", "sku": "CFE-1", "amount": "54.99"}],
        },
    )

    assert response.status_code == 200, response.text
    publication = response.json()
    assert publication["status"] == "published"
    # One SKU, three stores, three channels.
    assert publication["impact"]["prices_changed"] == 9
    assert publication["impact"]["labels"] == ["L-1"]
    assert _quote(api, "CFE-1")["price"] == "54.99"


def test_a_promotion_shows_the_30_day_low_as_prior_price(api: Api) -> None:
    _load_prices(api)
    api.clock.advance(timedelta(days=2))
    response = _publish(
        api,
        {
            "title": "milk week",
            "items": [
                {
                    "action": "upsert_promotion",
                    "promotion_id": "MILK-20",
                    "name": "Mleko -20%",
                    "kind": "percent_off",
                    "percent": "20",
                    "skus": ["MLK-1"],
                }
            ],
        },
    )
    assert response.status_code == 200, response.text
    quoted = _quote(api, "MLK-1")
    assert (quoted["price"], quoted["prior_price"], quoted["promotion"]["text"]) == (
        "2.79",
        "3.49",
        "-20%",
    )


def test_a_future_publication_resolves_differently_before_and_after_its_instant(
    api: Api,
) -> None:
    _load_prices(api)
    midnight_instant = (START + timedelta(days=3)).replace(hour=0)
    midnight = midnight_instant.isoformat()
    response = _publish(
        api,
        {
            "title": "cheese from midnight",
            "effective_at": midnight,
            "items": [{"action": "set_price", "sku": "CHS-1", "amount": "7.99"}],
        },
    )
    assert response.status_code == 200, response.text
    assert response.json()["effective_at"].startswith(midnight[:19])
    a_second_before = (midnight_instant - timedelta(seconds=1)).isoformat()
    assert _quote(api, "CHS-1", at=a_second_before)["price"] == "8.49"
    assert _quote(api, "CHS-1", at=midnight)["price"] == "7.99"
    assert _quote(api, "CHS-1")["price"] == "8.49"  # "now" is still before midnight
    ledger = api.client.get(
        "/api/v1/ledger",
        params={"sku": "CHS-1", "store": "S01", "channel": "store"},
        headers=api.headers("auditor"),
    ).json()["items"]
    assert [(e["amount"], e["effective_at"][:19]) for e in ledger][-1] == ("7.99", midnight[:19])


def test_a_publication_that_fails_halfway_leaves_nothing_behind(api: Api) -> None:
    _load_prices(api)
    # Validated while every item could apply...
    body = {
        "title": "three changes",
        "items": [
            {"action": "set_price", "sku": "MLK-1", "amount": "3.19"},
            {
                "action": "upsert_promotion",
                "promotion_id": "CFE-FIX",
                "kind": "fixed_price",
                "amount": "49.99",
                "skus": ["CFE-1"],
            },
            {"action": "set_price", "sku": "CHS-1", "amount": "7.99"},
        ],
    }
    created = api.client.post("/api/v1/publications", json=body, headers=api.headers("pricing"))
    number = created.json()["id"]
    validated = api.client.post(
        f"/api/v1/publications/{number}/validate", headers=api.headers("pricing")
    )
    assert validated.json()["status"] == "validated"
    # ...then another publication drops coffee below the promotion's fixed price.
    assert _publish(
        api,
        {"title": "coffee", "items": [{"action": "set_price", "sku": "CFE-1", "amount": "45.00"}]},
    ).is_success
    before = _counts(api)

    response = api.client.post(
        f"/api/v1/publications/{number}/publish", headers=api.headers("pricing")
    )

    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "publication_rejected"
    assert [p["item"] for p in error["problems"]] == [1]
    assert _counts(api) == before
    assert _quote(api, "MLK-1")["price"] == "3.49"  # item 0 did not apply either
    state = api.client.get(f"/api/v1/publications/{number}", headers=api.headers("auditor"))
    assert state.json()["status"] == "validated"


def test_validation_gives_a_reason_per_rejected_item_and_keeps_the_draft(api: Api) -> None:
    _load_prices(api)
    body = {
        "title": "mixed",
        "items": [
            {"action": "set_price", "sku": "MLK-1", "amount": "3.19"},
            # No store or zone price to end (a SKU, zone, store or promotion not stored is
            # refused at POST, tests/esl/test_publication_references_refused_at_post.py).
            {"action": "end_price", "sku": "CHS-1", "store": "S03"},
            {"action": "end_price", "sku": "CHS-1", "zone": "south"},
        ],
    }
    created = api.client.post("/api/v1/publications", json=body, headers=api.headers("pricing"))
    number = created.json()["id"]
    validated = api.client.post(
        f"/api/v1/publications/{number}/validate", headers=api.headers("pricing")
    ).json()
    assert validated["status"] == "draft"
    assert [(p["item"], p["code"]) for p in validated["problems"]] == [
        (1, "not_found"),
        (2, "not_found"),
    ]
    published = api.client.post(
        f"/api/v1/publications/{number}/publish", headers=api.headers("pricing")
    )
    assert published.status_code == 409
    assert published.json()["error"]["code"] == "publication_state"


def test_a_publication_cannot_take_effect_in_the_past(api: Api) -> None:
    _load_prices(api)
    backdated = {
        "title": "backdated",
        "effective_at": (START - timedelta(days=1)).isoformat(),
        "items": [{"action": "set_price", "sku": "MLK-1", "amount": "2.99"}],
    }
    refused = api.client.post(
        "/api/v1/publications", json=backdated, headers=api.headers("pricing")
    )
    assert refused.status_code == 422
    assert "the past cannot be rewritten" in refused.json()["error"]["message"]
    # A draft for tomorrow that is validated the day after is refused then.
    tomorrow = backdated | {"effective_at": (START + timedelta(days=1)).isoformat()}
    created = api.client.post("/api/v1/publications", json=tomorrow, headers=api.headers("pricing"))
    assert created.status_code == 201
    api.clock.advance(timedelta(days=2))
    validated = api.client.post(
        f"/api/v1/publications/{created.json()['id']}/validate", headers=api.headers("pricing")
    ).json()
    assert validated["status"] == "draft"
    assert "the past cannot be rewritten" in validated["problems"][0]["reason"]
    assert _quote(api, "MLK-1")["price"] == "3.49"


def test_a_running_promotion_cannot_be_replaced_only_ended(api: Api) -> None:
    _load_prices(api)
    promotion = {
        "action": "upsert_promotion",
        "promotion_id": "CFE-10",
        "kind": "percent_off",
        "percent": "10",
        "skus": ["CFE-1"],
    }
    assert _publish(api, {"title": "start", "items": [promotion]}).is_success
    api.clock.advance(timedelta(days=1))
    replaced = _validate(api, {"title": "change", "items": [{**promotion, "percent": "15"}]})
    assert replaced["status"] == "draft"
    assert "already started" in replaced["problems"][0]["reason"]
    ended = _publish(
        api, {"title": "end", "items": [{"action": "end_promotion", "promotion_id": "CFE-10"}]}
    )
    assert ended.status_code == 200, ended.text
    assert _quote(api, "CFE-1")["price"] == "59.99"
    yesterday = (START + timedelta(hours=12)).isoformat()
    assert _quote(api, "CFE-1", at=yesterday)["price"] == "53.99"
