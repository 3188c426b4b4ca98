"""A product's `on_sale_since` or a store's opening moved earlier (`PUT /products/{sku}`,
`PUT /stores/{code}`, their files) says the shelf sold during days its ledger holds
nothing for. A row stored before migration 0048 has no `recorded_since` (all it sold at
is taken as recorded): the write makes it say since when it was recorded, so no
reduction is announced through it until its ledger covers the 30 days, as for a row
created since (docs/pricing.md, Installed without history).

NEW-1 went on sale when it was loaded, at 8.99; ten days on a 7.99 promotion is the
lowest since it went on sale. Then its date (or the store's opening) is put right to a
year before: the shelf sold it for a year at prices nobody recorded here, so
"30-day low 8.99" may be too high. Nothing is announced until its history is imported.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx
import pytest
from sqlalchemy import update

from esl.db.models import ProductRow, ProductVersionRow, StoreRow
from tests.pipeline.small_world import World
from tests.support.ledger import (  # noqa: F401 - fixtures
    DAY,
    api_fixture,
    put_cheese,
    world_fixture,
)
from tests.support.pipeline import publish

HISTORY_HEADER = "sku,channel,store,effective_at,price,regular_price,currency\n"
A_YEAR_BEFORE = timedelta(days=365)
# Stored before migration 0048 (no `recorded_since`) or created since (recorded from then).
STORED = pytest.mark.parametrize("before_0048", [True, False], ids=["before-0048", "since-0048"])


async def _put_store(api: httpx.AsyncClient, code: str, *, opened: datetime) -> None:
    answer = await api.put(
        f"/api/v1/stores/{code}", json={"name": "Sopot", "opened": opened.isoformat()}
    )
    assert answer.status_code in (200, 201), answer.text


def _as_before_0048(world: World) -> None:
    """Every product and store as a database from before migration 0048 stored them."""
    with world.sessions.begin() as session:
        for table in (ProductRow, ProductVersionRow, StoreRow):
            session.execute(update(table).values(recorded_since=None))


def _priced_then_reduced(world: World, sku: str) -> None:
    """`sku` priced 8.99 now; ten days on, a 7.99 promotion starts."""
    publish(
        world.sessions,
        [{"action": "set_price", "sku": sku, "amount": "8.99"}],
        now=world.clock.now,
    )
    _reduced_in_ten_days(world, sku, "7.99")


def _reduced_in_ten_days(world: World, sku: str, amount: str) -> None:
    world.clock.advance(10 * DAY)
    publish(
        world.sessions,
        [
            {
                "action": "upsert_promotion",
                "promotion_id": f"DOWN-{sku}",
                "kind": "fixed_price",
                "amount": amount,
                "skus": [sku],
                "valid_from": world.clock.now.isoformat(),
            }
        ],
        now=world.clock.now,
    )


async def _announced(
    api: httpx.AsyncClient, sku: str, store: str, *, price: str = "7.99"
) -> tuple[object, ...]:
    answer = await api.get("/api/v1/quote", params={"sku": sku, "store": store})
    assert answer.status_code == 200, answer.text
    quote = answer.json()
    assert quote["price"] == price
    return quote["announces_reduction"], quote["prior_price"], quote["prior_price_basis"]


async def _import_history(api: httpx.AsyncClient, rows: str) -> None:
    imported = await api.post(
        "/api/v1/imports/history",
        files={"file": ("history.csv", HISTORY_HEADER + rows, "text/csv")},
    )
    assert imported.status_code == 200, imported.text


@STORED
async def test_a_product_put_on_sale_earlier_announces_nothing_until_its_history_comes(
    world: World, api: httpx.AsyncClient, before_0048: bool
) -> None:
    loaded = world.clock.now
    await put_cheese(api, "NEW-1", on_sale_since=loaded)
    if before_0048:
        _as_before_0048(world)
    _priced_then_reduced(world, "NEW-1")
    assert await _announced(api, "NEW-1", "S01") == (True, "8.99", "lowest_since_on_sale")

    await put_cheese(api, "NEW-1", on_sale_since=loaded - A_YEAR_BEFORE)

    # It was "-11 % from the 30-day low of 8.99": the ten days the ledger holds.
    assert await _announced(api, "NEW-1", "S01") == (False, None, None)
    # The shelf's 30 days before the reduction, from its history: 6.99 three weeks ago.
    await _import_history(
        api,
        "".join(
            f"NEW-1,store,S01,{(loaded - days * DAY).isoformat()},{price},,PLN\n"
            for days, price in ((60, "8.99"), (11, "6.99"), (5, "8.99"))
        ),
    )
    assert await _announced(api, "NEW-1", "S01") == (False, "6.99", "lowest_30_days")


@STORED
async def test_a_store_opened_earlier_announces_nothing_until_its_history_comes(
    world: World, api: httpx.AsyncClient, before_0048: bool
) -> None:
    """S09 opens selling the cheese at its 4.99; ten days on it is 3.99."""
    opened = world.clock.now
    await _put_store(api, "S09", opened=opened)
    if before_0048:
        _as_before_0048(world)
    _reduced_in_ten_days(world, "CHS-1", "3.99")
    assert await _announced(api, "CHS-1", "S09", price="3.99") == (
        True,
        "4.99",
        "lowest_since_on_sale",
    )
    elsewhere = await _announced(api, "CHS-1", "S01", price="3.99")
    # Still after the cheese's own 2025 date: the opening is what moves the shelf's start.
    await _put_store(api, "S09", opened=opened - timedelta(days=60))

    assert await _announced(api, "CHS-1", "S09", price="3.99") == (False, None, None)
    # Another store's shelf is not touched.
    assert await _announced(api, "CHS-1", "S01", price="3.99") == elsewhere
    await _import_history(
        api,
        "".join(
            f"CHS-1,store,S09,{(opened - days * DAY).isoformat()},{price},,PLN\n"
            for days, price in ((50, "4.99"), (11, "2.99"), (5, "4.99"))
        ),
    )
    assert await _announced(api, "CHS-1", "S09", price="3.99") == (
        False,
        "2.99",
        "lowest_30_days",
    )


@STORED
async def test_a_launch_put_earlier_but_still_ahead_announces_its_first_reductions(
    world: World, api: httpx.AsyncClient, before_0048: bool
) -> None:
    """Loaded ahead of its launch and the launch brought forward, still after its
    loading: all it sold at is recorded, whenever it was stored."""
    loaded = world.clock.now
    await put_cheese(api, "NEW-2", on_sale_since=loaded + 20 * DAY)
    if before_0048:
        _as_before_0048(world)
    await put_cheese(api, "NEW-2", on_sale_since=loaded + DAY)
    world.clock.advance(DAY)
    _priced_then_reduced(world, "NEW-2")
    assert await _announced(api, "NEW-2", "S01") == (True, "8.99", "lowest_since_on_sale")
