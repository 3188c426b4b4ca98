"""The web listing sells chain-wide from the product's own date, whatever store it is
keyed by (`pricing.ledger.key_on_sale_since`). A store opened later gets its web key's
ledger only from its opening, so the web listing quoted through that store forgets a
lower web price charged before, and announces a reduction the listing may not announce.

Day 0: CHS-1 is 4.99 everywhere. Days 1-6: the web listing sells it at 3.99. Day 10:
store S09 opens. Day 12: a chain-wide 4.49 promotion starts. The web listing charged
3.99 eleven days ago: 4.49 is no reduction against its 30-day low, whichever store the
web shop names. Through S01 the ledger knows that low (3.99); through S09, whose keys'
ledger begins at its opening, it does not, and announces no reduction either.
"""

from __future__ import annotations

import httpx

from tests.pipeline.small_world import World
from tests.support.ledger import (  # noqa: F401 - fixtures
    DAY,
    api_fixture,
    promotion,
    world_fixture,
)
from tests.support.pipeline import publish


async def _web_quote(api: httpx.AsyncClient, store: str) -> dict[str, object]:
    answer = await api.get(
        "/api/v1/quote", params={"sku": "CHS-1", "store": store, "channel": "web"}
    )
    assert answer.status_code == 200, answer.text
    result: dict[str, object] = answer.json()
    return result


async def test_the_web_listing_quoted_through_a_new_store_keeps_its_thirty_day_low(
    world: World, api: httpx.AsyncClient
) -> None:
    world.clock.advance(DAY)
    publish(
        world.sessions,
        [{"action": "set_price", "sku": "CHS-1", "amount": "3.99", "channel": "web"}],
        now=world.clock.now,
    )
    world.clock.advance(5 * DAY)
    publish(
        world.sessions,
        [{"action": "end_price", "sku": "CHS-1", "channel": "web"}],
        now=world.clock.now,
    )
    world.clock.advance(4 * DAY)
    opened = await api.put("/api/v1/stores/S09", json={"name": "Nowy sklep"})
    assert opened.status_code == 200, opened.text
    world.clock.advance(2 * DAY)
    publish(
        world.sessions,
        [promotion("WEEK", "4.49", starts=world.clock.now, ends=None)],
        now=world.clock.now,
    )

    old, new = await _web_quote(api, "S01"), await _web_quote(api, "S09")
    assert old["price"] == new["price"] == "4.49"
    assert (old["announces_reduction"], old["prior_price"]) == (False, "3.99")
    # The same web listing, through S09, used to read "lowest price in the 30 days before
    # the reduction: 4.99", -10 %. S09's web key's ledger begins at its opening (day 10),
    # while the listing sold from long before: its 30-day low is not in that key's
    # ledger, so the reduction is not announced (no prior price) rather than announced
    # against the 4.99 of two days.
    assert (new["announces_reduction"], new["prior_price"]) == (False, None), new
