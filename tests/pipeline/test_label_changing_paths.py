"""Every path that changes what a label is due reaches planning, and so the shelf.

Each test changes one thing the way a user does (a product file, the API, a price file
for later, a promotion published with an end) and then lets the real controller plan
and dispatch to simulated labels speaking the signed protocol (the in-memory gateway,
one test clock), with no periodic re-plan in between: the change reaches the panels
because it was handed to planning, not because a re-plan swept it up later.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import httpx
import pytest
from sqlalchemy import Engine

from esl.imports import import_prices, import_products
from esl.imports.stores import import_stores
from rendering.encoding import Planes, content_hash
from tests.pipeline.in_memory_gateway import radio
from tests.pipeline.shared_clock_store import publish
from tests.pipeline.small_world import PRICES_A, World
from tests.support.database import PRODUCTS_CSV
from tests.support.pipeline import expected_planes


@pytest.fixture
async def world(engine: Engine) -> World:
    return await World.showing(engine, PRICES_A)


@pytest.fixture
async def api(world: World) -> AsyncIterator[httpx.AsyncClient]:
    async with world.admin_api() as client:
        yield client


def _due(world: World, at: datetime | None = None) -> Planes:
    """The reference render due at `at` (None: now) on the world's labels."""
    with world.sessions() as session:
        return expected_planes(
            session, label_id=sorted(world.labels)[0], sku=world.sku, at=at or world.clock.now
        )


def _assert_shown_and_recorded(world: World, due: Planes) -> None:
    for label_id, label in world.labels.items():
        assert label.shown == due, world.rows(label_id)
        state = world.state(label_id)
        assert state.confirmed_hash == state.desired_hash == content_hash(due).hex()


async def _assert_the_change_reaches_the_labels(world: World, before: Planes) -> None:
    """Once the pipeline has run, the labels show (and the controller records) a due
    render other than `before`."""
    await world.converge()
    after = _due(world)
    assert after != before
    _assert_shown_and_recorded(world, after)


async def test_a_product_file_renaming_a_product_reaches_its_labels(world: World) -> None:
    before = _due(world)
    with world.sessions.begin() as session:
        report = import_products(
            session,
            PRODUCTS_CSV.replace("Mleko 3.2% 1 l", "Mleko UHT 3.2% 1 l"),
            currency="PLN",
            imported_by="test",
            now=world.clock.now,
        )
    assert report.updated == 1
    await _assert_the_change_reaches_the_labels(world, before)


async def test_a_product_changed_through_the_api_reaches_its_labels(
    world: World, api: httpx.AsyncClient
) -> None:
    before = _due(world)
    product = (await api.get("/api/v1/products/MLK-1")).json()
    product.pop("sku")
    product["net_content"] = "2"  # a 2-litre bottle at the same price: half the unit price
    answer = await api.put("/api/v1/products/MLK-1", json=product)
    assert answer.status_code == 200, answer.text
    await _assert_the_change_reaches_the_labels(world, before)


async def _south_priced_apart(world: World) -> Planes:
    """Zone south prices milk apart from S01's zone; what S01's labels show before a move."""
    publish(
        world.sessions,
        [{"action": "set_price", "sku": "MLK-1", "amount": "3.29", "zone": "south"}],
        now=world.clock.now,
    )
    await world.converge()
    return _due(world)


async def test_a_store_moved_to_another_zone_shows_that_zones_prices(
    world: World, api: httpx.AsyncClient
) -> None:
    before = await _south_priced_apart(world)
    answer = await api.put("/api/v1/stores/S01", json={"name": "Gdańsk Oliwa", "zone": "south"})
    assert answer.status_code == 200, answer.text
    await _assert_the_change_reaches_the_labels(world, before)


async def test_a_store_file_moving_a_store_to_another_zone_shows_that_zones_prices(
    world: World,
) -> None:
    before = await _south_priced_apart(world)
    with world.sessions.begin() as session:
        report = import_stores(
            session,
            "code,name,zone,time_zone\nS01,Gdańsk Oliwa,south,\n",
            imported_by="test",
            now=world.clock.now,
            currency="PLN",
        )
    assert (report.updated, report.inserted) == (1, 0)
    await _assert_the_change_reaches_the_labels(world, before)


async def _exchange(world: World) -> None:
    world.controller.plan_due_work()
    await world.send_due()
    world.dispatcher.settle(radio(world.gateway.take(), world.labels, now=world.clock.now))
    world.clock.advance(timedelta(seconds=30))


async def _flips_at(world: World, instant: datetime) -> None:
    """The labels hold the image due at `instant` and show it from then, on their own
    clock; then the controller's record agrees."""
    for _ in range(3):
        await _exchange(world)
    due = _due(world, instant)
    assert all(label.shown != due for label in world.labels.values())
    assert all(label.scheduled_page is not None for label in world.labels.values())
    world.clock.now = instant + timedelta(seconds=1)
    for label in world.labels.values():
        label.state(now=world.clock.now)
    _assert_shown_after_flip(world, due)
    await _exchange(world)
    _assert_shown_and_recorded(world, due)


def _assert_shown_after_flip(world: World, due: Planes) -> None:
    for label_id, label in world.labels.items():
        assert label.shown == due, world.rows(label_id)


async def test_a_price_file_for_later_reaches_the_shelf_at_its_instant(world: World) -> None:
    instant = (world.clock.now + timedelta(minutes=40)).replace(microsecond=0)
    with world.sessions.begin() as session:
        import_prices(
            session,
            "sku,scope,store_or_zone,price,currency,valid_from\n"
            f"MLK-1,store,S01,2.99,PLN,{instant.isoformat().replace('+00:00', 'Z')}\n",
            currency="PLN",
            imported_by="test",
            now=world.clock.now,
        )
    await _flips_at(world, instant)


async def test_a_promotion_published_with_an_end_leaves_the_shelf_at_its_end(
    world: World,
) -> None:
    ends = (world.clock.now + timedelta(minutes=40)).replace(microsecond=0)
    publish(
        world.sessions,
        [
            {
                "action": "upsert_promotion",
                "promotion_id": "FLASH",
                "kind": "percent_off",
                "percent": "20",
                "skus": ["MLK-1"],
                "valid_until": ends.isoformat(),
            }
        ],
        now=world.clock.now,
    )
    await world.converge()
    during = _due(world)
    _assert_shown_after_flip(world, during)  # the promotion now, its end held for later
    await _flips_at(world, ends)
    assert _due(world) != during
