"""A store opened through the API or a store file sells at once at the chain's prices;
those prices applied there, so they belong in its Omnibus ledger from the opening
(docs/pricing.md: "Every price that applied is in the ledger"; each store's label shows
that store's own 30-day low)."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

from esl.imports.stores import import_stores
from tests.pipeline.small_world import World
from tests.support.ledger import (  # noqa: F401 - fixtures
    DAY,
    api_fixture,
    entries,
    promotion,
    world_fixture,
)
from tests.support.pipeline import publish, publish_prices


async def _quote(api: httpx.AsyncClient, store: str) -> dict[str, object]:
    answer = await api.get("/api/v1/quote", params={"sku": "CHS-1", "store": store})
    assert answer.status_code == 200, answer.text
    result: dict[str, object] = answer.json()
    return result


@pytest.mark.parametrize("through", ["api", "store file"])
async def test_a_new_store_reduction_counts_the_prices_it_charged_since_opening(
    world: World, api: httpx.AsyncClient, through: str
) -> None:
    opened_at = world.clock.now
    if through == "api":
        opened = await api.put("/api/v1/stores/S09", json={"name": "Nowy sklep"})
        assert opened.status_code == 200, opened.text
    else:
        with world.sessions.begin() as session:
            import_stores(
                session,
                "code,name,zone,time_zone\nS09,Nowy sklep,,\n",
                imported_by="test",
                now=opened_at,
                currency="PLN",
            )
    assert (await _quote(api, "S09"))["price"] == "4.99"  # sold at 4.99 from the opening
    # In the ledger from the opening: its shelf, web and app listings.
    assert {
        (row.channel, row.amount, row.source)
        for row in entries(world, sku="CHS-1", store="S09", effective_at=opened_at)
    } == {(channel, Decimal("4.99"), "store") for channel in ("store", "web", "app")}

    world.clock.advance(DAY)
    publish_prices(world.sessions, {"CHS-1": "5.49"}, now=world.clock.now)  # a rise
    world.clock.advance(4 * DAY)
    publish(
        world.sessions,
        [promotion("BACK", "4.99", starts=world.clock.now, ends=None)],
        now=world.clock.now,
    )
    # 4.99 was charged in both stores within the 30 days: back to it is no reduction
    # (S09 announced 5.49 before).
    old, new = await _quote(api, "S01"), await _quote(api, "S09")
    assert (old["announces_reduction"], old["prior_price"]) == (False, "4.99")
    assert (new["announces_reduction"], new["prior_price"]) == (False, "4.99"), new
