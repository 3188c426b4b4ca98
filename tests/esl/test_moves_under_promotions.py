"""A move changes which price rules a promotion meets: a store moved to another zone, a
product to another category. One that would then sell above a regular price is refused
(docs/pricing.md, PromotionPriceAboveRegularError), as any change meeting a promotion is.
Since catalogues read from the store of record stopped checking their promotions again
(b9dee4f), these moves were taken: S01 announced a "special offer" at 4.49 while its new
zone's regular price was 3.99."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from esl.errors import ImportRejectedError
from esl.imports.stores import import_stores
from tests.pipeline.small_world import World
from tests.support.ledger import api_fixture, world_fixture  # noqa: F401 - fixtures
from tests.support.pipeline import publish

OFFER = {
    "action": "upsert_promotion",
    "promotion_id": "S01-OFFER",
    "kind": "fixed_price",
    "amount": "4.49",
    "skus": ["CHS-1"],
    "stores": ["S01"],
}


async def _quote(api: httpx.AsyncClient) -> Any:
    return (await api.get("/api/v1/quote", params={"sku": "CHS-1", "store": "S01"})).json()


def _s01_offer_with_south_cheaper(world: World) -> None:
    """South sells the cheese at 3.99; S01 (north) at the national 4.99, with its own
    offer at 4.49, which meets no south rule."""
    now = world.clock.now
    publish(
        world.sessions,
        [{"action": "set_price", "sku": "CHS-1", "zone": "south", "amount": "3.99"}],
        now=now,
    )
    publish(world.sessions, [{**OFFER, "valid_from": now.isoformat()}], now=now)


async def test_a_store_moved_under_its_offer_into_a_cheaper_zone_is_refused(
    world: World, api: httpx.AsyncClient
) -> None:
    _s01_offer_with_south_cheaper(world)
    assert (await _quote(api))["price"] == "4.49"
    moved = await api.put("/api/v1/stores/S01", json={"name": "Gdańsk Oliwa", "zone": "south"})
    assert moved.status_code == 422, moved.text
    assert moved.json()["error"]["code"] == "promotion_price_above_regular"
    assert "S01-OFFER" in moved.text
    assert (await api.get("/api/v1/stores/S01")).json()["zone"] == "north"
    assert (await _quote(api))["price"] == "4.49"


async def test_a_store_file_moving_it_so_is_refused(world: World, api: httpx.AsyncClient) -> None:
    _s01_offer_with_south_cheaper(world)
    with pytest.raises(ImportRejectedError) as refused, world.sessions.begin() as s:
        import_stores(
            s,
            "code,name,zone,time_zone\nS01,Gdańsk Oliwa,south,\n",
            imported_by="test",
            now=world.clock.now,
            currency="PLN",
        )
    # Told as the file's line that moves the store, as every bad line of a file is.
    [problem] = refused.value.problems
    assert problem["line"] == 2
    assert "S01-OFFER" in str(problem["reason"])
    assert (await api.get("/api/v1/stores/S01")).json()["zone"] == "north"


async def test_a_product_moved_into_a_dearer_category_offer_is_refused(
    world: World, api: httpx.AsyncClient
) -> None:
    now = world.clock.now
    publish(world.sessions, [{"action": "set_price", "sku": "CHS-1", "amount": "3.99"}], now=now)
    premium = {
        "action": "upsert_promotion",
        "promotion_id": "PREMIUM",
        "kind": "fixed_price",
        "amount": "4.49",
        "categories": ["Sery premium"],
        "valid_from": now.isoformat(),
    }
    publish(world.sessions, [premium], now=now)  # no cheese in it yet
    product = (await api.get("/api/v1/products/CHS-1")).json()
    moved = await api.put(
        "/api/v1/products/CHS-1",
        json={k: v for k, v in product.items() if k != "sku"} | {"category": "Sery premium"},
    )
    assert moved.status_code == 422, moved.text
    assert "PREMIUM" in moved.text
    assert (await api.get("/api/v1/products/CHS-1")).json()["category"] == product["category"]
    assert (await _quote(api))["price"] == "3.99"
