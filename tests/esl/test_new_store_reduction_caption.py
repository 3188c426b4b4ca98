"""A store opened 10 days ago: its shelf's reduction compares with the prices of its 10
days of sales. docs/pricing.md: a prior price of fewer than 30 days is "the lowest since
it went on sale (PL art. 4 ust. 3), not a 30-day low, and its basis says so"."""

from __future__ import annotations

import httpx

from tests.pipeline.small_world import World
from tests.support.ledger import (  # noqa: F401 - fixtures
    DAY,
    api_fixture,
    promotion,
    world_fixture,
)
from tests.support.pipeline import publish, publish_prices


async def _quote(api: httpx.AsyncClient, store: str) -> dict[str, object]:
    answer = await api.get("/api/v1/quote", params={"sku": "CHS-1", "store": store})
    assert answer.status_code == 200, answer.text
    return answer.json()


async def test_a_store_open_ten_days_does_not_call_its_low_a_30_day_low(
    world: World, api: httpx.AsyncClient
) -> None:
    # CHS-1 at 4.99 chain-wide for a long time (S01 sells it from the world's start).
    world.clock.advance(40 * DAY)
    opened = await api.put("/api/v1/stores/S09", json={"name": "Nowy sklep"})
    assert opened.status_code == 200, opened.text
    world.clock.advance(DAY)
    publish_prices(world.sessions, {"CHS-1": "5.49"}, now=world.clock.now)
    world.clock.advance(9 * DAY)
    publish(
        world.sessions,
        [promotion("DOWN", "4.79", starts=world.clock.now, ends=None)],
        now=world.clock.now,
    )
    old, new = await _quote(api, "S01"), await _quote(api, "S09")
    assert (old["prior_price"], old["prior_price_basis"]) == ("4.99", "lowest_30_days")
    # S09 sold CHS-1 for 10 days only: its 4.99 is the lowest since it went on sale there.
    assert new["prior_price"] == "4.99"
    assert new["prior_price_basis"] == "lowest_since_on_sale", new
