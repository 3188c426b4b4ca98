"""A store key sees a publication as far as it reaches its own store: the labels of its
store in the impact (listed and counted), the changed keys of its store, and the items
and problems that name no other store. docs/api.md: a store key acts "in its own store
only (labels of other stores are 403 ...)"; docs/console.md: it sees a publication's
figures "for its own store's labels only". The publication answers named every store's
labels and counted them all, and showed the items and problems of every store."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from tests.support.api import Api

PRICE_FILE = "sku,scope,price,currency\nMLK-1,national,3.49,PLN\n"
ITEMS = [
    {"action": "set_price", "sku": "MLK-1", "amount": "3.39"},
    {"action": "set_price", "sku": "MLK-1", "store": "S03", "amount": "3.29"},
    {"action": "set_price", "sku": "MLK-1", "store": "S01", "amount": "3.19"},
]


def _published(api: Api) -> dict[str, Any]:
    """MLK-1 repriced nationally, in S03 and in S01; L-1 (S01) and L-KRK (S03) show it."""
    admin, pricing = api.headers("admin"), api.headers("pricing")
    assert api.import_csv("prices", PRICE_FILE).status_code == 200
    api.add_labels({"L-1": "S01", "L-KRK": "S03"})
    for label in ("L-1", "L-KRK"):
        bound = api.client.put(
            f"/api/v1/labels/{label}/binding", json={"sku": "MLK-1"}, headers=admin
        )
        assert bound.status_code == 200, bound.text
    draft = api.client.post(
        "/api/v1/publications", json={"title": "milk", "items": ITEMS}, headers=pricing
    ).json()
    api.clock.advance(timedelta(seconds=1))
    validated = api.client.post(f"/api/v1/publications/{draft['id']}/validate", headers=pricing)
    assert validated.status_code == 200
    assert validated.json()["status"] == "validated"
    published = api.client.post(f"/api/v1/publications/{draft['id']}/publish", headers=pricing)
    assert published.status_code == 200, published.text
    return published.json()


def test_a_store_key_reads_its_own_stores_labels_and_keys_in_a_publications_impact(
    api: Api,
) -> None:
    publication = _published(api)
    store = api.headers("store")
    assert api.client.get("/api/v1/labels/L-KRK", headers=store).status_code == 403

    seen = api.client.get(f"/api/v1/publications/{publication['id']}", headers=store).json()
    listed = api.client.get("/api/v1/publications", headers=store).json()["items"]
    for impact in (seen["impact"], *(p["impact"] for p in listed if p["impact"])):
        assert "L-KRK" not in impact.get("labels", []), impact
        assert "labels_changed_per_store" not in impact, impact
        assert all(key["store"] == "S01" for key in impact.get("keys", [])), impact
    assert seen["impact"]["labels"] == ["L-1"]
    assert seen["impact"]["labels_changed"] == 1
    assert {key["store"] for key in seen["impact"]["keys"]} == {"S01"}

    # The chain roles see the whole chain, with the count per store.
    audited = api.client.get(
        f"/api/v1/publications/{publication['id']}", headers=api.headers("auditor")
    ).json()["impact"]
    assert audited["labels"] == ["L-1", "L-KRK"]
    assert audited["labels_changed"] == 2
    assert audited["labels_changed_per_store"] == {"S01": 1, "S03": 1}
    assert {key["store"] for key in audited["keys"]} >= {"S01", "S03"}


def test_a_store_key_reads_the_items_and_problems_that_reach_its_store_only(api: Api) -> None:
    publication = _published(api)
    store = api.headers("store")

    seen = api.client.get(f"/api/v1/publications/{publication['id']}", headers=store).json()
    # The national item applies in S01 too; the S03 item is another store's.
    assert [item["position"] for item in seen["items"]] == [0, 2]
    chain = api.client.get(
        f"/api/v1/publications/{publication['id']}", headers=api.headers("auditor")
    ).json()
    assert [item["position"] for item in chain["items"]] == [0, 1, 2]

    # A draft whose S03 item is refused: the store key is not shown S03's problem.
    draft = api.client.post(
        "/api/v1/publications",
        json={
            "title": "bad",
            "items": [
                {"action": "set_price", "sku": "MLK-1", "amount": "3.09"},
                # No price of CHS-1 in S03 to end (an unknown SKU is refused at POST).
                {"action": "end_price", "sku": "CHS-1", "store": "S03"},
            ],
        },
        headers=api.headers("pricing"),
    ).json()
    refused = api.client.post(
        f"/api/v1/publications/{draft['id']}/validate", headers=api.headers("pricing")
    ).json()
    assert [problem["item"] for problem in refused["problems"]] == [1]
    draft_seen = api.client.get(f"/api/v1/publications/{draft['id']}", headers=store).json()
    assert draft_seen["status"] == "draft"
    assert draft_seen["problems"] == []
    assert [i["position"] for i in draft_seen["items"]] == [0]


def _console_page(api: Api, role: str, path: str) -> httpx.Response:
    """`path` of the console as a browser signed in with `role`'s key gets it."""
    with httpx.Client(base_url=str(api.client.base_url), timeout=30) as console:
        signed_in = console.post("/ui/sign-in", data={"api_key": api.keys[role]})
        assert signed_in.status_code == 303, signed_in.text
        return console.get(path)


def test_the_console_shows_a_store_key_the_items_of_its_own_store_only(api: Api) -> None:
    publication = _published(api)
    page = f"/ui/publications/{publication['id']}"
    seen, chain = _console_page(api, "store", page), _console_page(api, "admin", page)
    assert seen.status_code == 200
    assert chain.status_code == 200
    assert '"store": "S03"' in chain.text
    assert '"store": "S01"' in chain.text
    assert '"store": "S03"' not in seen.text
    assert '"store": "S01"' in seen.text
