"""A store opened beside a national promotion taken only because every store had a dearer
zone (or own) price (35ab83d's precedence-aware check) is checked against it, as a store
move is (docs/pricing.md, Promotions and stacking). CHS-1 costs 4.99 nationally and 8.00
in every store; a national fixed price of 6.00 is taken. A store opened without a zone, or
in a new zone, sells at 4.99: before, the opening was taken (the check read the opened
store as met before) and its shelf and quote sold CHS-1 at 6.00 "promotion" above its
regular 4.99; now the opening is refused naming the promotion and creates nothing.
Found by a reviewer (rev24)."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from esl.errors import ImportRejectedError
from esl.imports.stores import import_stores
from tests.pipeline.small_world import World
from tests.support.ledger import api_fixture, world_fixture  # noqa: F401 - fixtures
from tests.support.pipeline import publish


def _national_deal_above_the_national_price(world: World, *, dearer: list[dict]) -> None:
    """CHS-1: 4.99 national (the world's), 8.00 where `dearer` says; then CHS-6, 6.00
    everywhere: below 8.00 in every store that exists, so taken."""
    publish(world.sessions, dearer, now=world.clock.now)
    world.clock.advance(timedelta(minutes=5))
    deal = {
        "action": "upsert_promotion",
        "promotion_id": "CHS-6",
        "kind": "fixed_price",
        "amount": "6.00",
        "skus": ["CHS-1"],
        "valid_from": world.clock.now.isoformat(),
    }
    publish(world.sessions, [deal], now=world.clock.now)
    world.clock.advance(timedelta(minutes=5))


def _dearer_in_every_zone(world: World) -> None:
    # North holds S01 and S02, south S03: every store.
    _national_deal_above_the_national_price(
        world,
        dearer=[
            {"action": "set_price", "sku": "CHS-1", "zone": zone, "amount": "8.00"}
            for zone in ("north", "south")
        ],
    )


def _dearer_in_every_store(world: World) -> None:
    _national_deal_above_the_national_price(
        world,
        dearer=[
            {"action": "set_price", "sku": "CHS-1", "store": store, "amount": "8.00"}
            for store in ("S01", "S02", "S03")
        ],
    )


async def _quote(api: httpx.AsyncClient, store: str) -> dict:
    quoted = await api.get("/api/v1/quote", params={"sku": "CHS-1", "store": store})
    assert quoted.status_code == 200, quoted.text
    return quoted.json()


def _refused_naming_the_deal(answer: httpx.Response) -> None:
    assert answer.status_code == 422, answer.text
    assert "promotion CHS-6" in answer.text, answer.text
    assert "regular 4.99" in answer.text, answer.text


async def test_control_existing_store_sells_the_deal_below_its_zone_price(
    world: World, api: httpx.AsyncClient
) -> None:
    _dearer_in_every_zone(world)
    quote = await _quote(api, "S03")
    assert (quote["regular_price"], quote["price"]) == ("8.00", "6.00")


async def test_a_store_opened_without_a_zone_is_refused_naming_the_deal(
    world: World, api: httpx.AsyncClient
) -> None:
    _dearer_in_every_zone(world)
    opened = await api.put("/api/v1/stores/S04", json={"name": "Sopot"})
    _refused_naming_the_deal(opened)
    assert (await api.get("/api/v1/stores/S04")).status_code == 404


async def test_a_store_opened_in_a_new_zone_is_refused_naming_the_deal(
    world: World, api: httpx.AsyncClient
) -> None:
    _dearer_in_every_zone(world)
    assert (await api.put("/api/v1/zones/west", json={"name": "West"})).status_code == 200
    opened = await api.put("/api/v1/stores/S05", json={"name": "Łódź", "zone": "west"})
    _refused_naming_the_deal(opened)
    assert (await api.get("/api/v1/stores/S05")).status_code == 404


async def test_a_store_opened_in_a_zone_with_the_dearer_price_is_taken(
    world: World, api: httpx.AsyncClient
) -> None:
    _dearer_in_every_zone(world)
    opened = await api.put("/api/v1/stores/S04", json={"name": "Gdynia", "zone": "north"})
    assert opened.status_code == 200, opened.text
    quote = await _quote(api, "S04")
    assert (quote["regular_price"], quote["price"]) == ("8.00", "6.00")


async def test_control_moving_an_existing_store_to_a_new_zone_is_refused(
    world: World, api: httpx.AsyncClient
) -> None:
    _dearer_in_every_zone(world)
    assert (await api.put("/api/v1/zones/west", json={"name": "West"})).status_code == 200
    # S01, not S03: south would be left without a store, refused for its own price.
    moved = await api.put("/api/v1/stores/S01", json={"name": "Gdańsk", "zone": "west"})
    _refused_naming_the_deal(moved)
    assert (await api.get("/api/v1/stores/S01")).json()["zone"] == "north"


async def test_a_store_file_opening_a_store_is_refused_naming_the_deal(
    world: World, api: httpx.AsyncClient
) -> None:
    _dearer_in_every_zone(world)
    with pytest.raises(ImportRejectedError) as refused, world.sessions.begin() as session:
        import_stores(
            session,
            "code,name,zone,time_zone\nS06,Sopot,,\n",
            imported_by="test",
            now=world.clock.now,
            currency="PLN",
        )
    # Told as the file's line that opens the store, as every bad line of a file is.
    [problem] = refused.value.problems
    assert problem["line"] == 2
    assert "promotion CHS-6" in str(problem["reason"])
    assert (await api.get("/api/v1/stores/S06")).status_code == 404


async def test_a_store_opened_beside_stores_with_their_own_price_is_refused(
    world: World, api: httpx.AsyncClient
) -> None:
    """The opening's catalogue holds only the opened store's own prices: the check reads
    every store's, or S01 to S03 look priced at 4.99 and the deal as meeting it already."""
    _dearer_in_every_store(world)
    assert (await _quote(api, "S01"))["price"] == "6.00"
    opened = await api.put("/api/v1/stores/S04", json={"name": "Sopot", "zone": "north"})
    _refused_naming_the_deal(opened)


async def test_a_store_moved_beside_stores_with_their_own_price_is_refused(
    world: World, api: httpx.AsyncClient
) -> None:
    """North is dearer by its zone price, S03 (south) by its own: S01 moved south sells at
    4.99, and the deal never met 4.99 anywhere."""
    _national_deal_above_the_national_price(
        world,
        dearer=[
            {"action": "set_price", "sku": "CHS-1", "zone": "north", "amount": "8.00"},
            {"action": "set_price", "sku": "CHS-1", "store": "S03", "amount": "8.00"},
        ],
    )
    moved = await api.put("/api/v1/stores/S01", json={"name": "Gdańsk", "zone": "south"})
    _refused_naming_the_deal(moved)
    assert (await api.get("/api/v1/stores/S01")).json()["zone"] == "north"
