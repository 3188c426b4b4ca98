"""GET /quote?at= an instant before S01 moved from the north zone to the south zone: the
shelf charged north's price (and north's promotion) then, the ledger recorded it, and the
audit of that instant prices S01 in north (tests/audit/test_past_audit_after_a_zone_move.py).
The quote, which docs/api.md says the web shop and the audit use and which "for now or
the past reads the ledger as recorded", says the same: it priced S01 in the zone it is in
now, 5.99, never charged then."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx

from tests.pipeline.small_world import World
from tests.support.ledger import (  # noqa: F401 - fixtures
    DAY,
    api_fixture,
    entries,
    world_fixture,
)
from tests.support.pipeline import publish


async def _quote(api: httpx.AsyncClient, at: datetime | None = None) -> dict[str, Any]:
    params = {"sku": "CHS-1", "store": "S01"}
    if at is not None:
        params["at"] = at.isoformat()
    answer = await api.get("/api/v1/quote", params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def _move_s01_south(api: httpx.AsyncClient) -> None:
    moved = await api.put("/api/v1/stores/S01", json={"name": "Gdańsk Oliwa", "zone": "south"})
    assert moved.status_code == 200, moved.text


async def test_a_past_quote_prices_the_store_in_the_zone_it_was_in_then(
    world: World, api: httpx.AsyncClient
) -> None:
    publish(
        world.sessions,
        [{"action": "set_price", "sku": "CHS-1", "amount": "5.99", "zone": "south"}],
        now=world.clock.now,
    )
    world.clock.advance(DAY)
    before_move = world.clock.now
    world.clock.advance(DAY)
    await _move_s01_south(api)
    world.clock.advance(timedelta(hours=1))
    # The ledger: 4.99 charged in S01 until the move, 5.99 since.
    assert [r.amount for r in entries(world, sku="CHS-1", channel="store", store="S01")][-2:] == [
        Decimal("4.99"),
        Decimal("5.99"),
    ]
    assert (await _quote(api, before_move))["price"] == "4.99"
    assert (await _quote(api))["price"] == "5.99"


async def test_a_past_quote_announces_the_promotion_of_the_zone_the_store_was_in(
    world: World, api: httpx.AsyncClient
) -> None:
    # CHS-1 at 4.99 for long; north's promotion at 4.49 from today, S01 moves south later.
    world.clock.advance(40 * DAY)
    publish(
        world.sessions,
        [
            {
                "action": "upsert_promotion",
                "promotion_id": "NORTH-DOWN",
                "kind": "fixed_price",
                "amount": "4.49",
                "skus": ["CHS-1"],
                "zones": ["north"],
                "valid_from": world.clock.now.isoformat(),
            }
        ],
        now=world.clock.now,
    )
    world.clock.advance(DAY)
    during = world.clock.now
    world.clock.advance(DAY)
    await _move_s01_south(api)
    world.clock.advance(timedelta(hours=1))
    then = await _quote(api, during)
    assert (then["price"], then["promotion"]["id"]) == ("4.49", "NORTH-DOWN"), then
    assert (then["prior_price"], then["prior_price_basis"]) == ("4.99", "lowest_30_days")
    assert (then["saving"], then["announces_reduction"]) == ("0.50", True)
    now = await _quote(api)
    assert (now["price"], now["promotion"]) == ("4.99", None), now
