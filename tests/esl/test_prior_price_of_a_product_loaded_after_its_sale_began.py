"""A product loaded with an `on_sale_since` in the past (a chain installed without its
price history, an old product added to the catalogue late) sold before its ledger's
first entry at prices nobody recorded here (`pricing.ledger.sold_before_its_ledger`).

OLD-1 has been sold since 2025. The installation loads it and its 8.99 price today; ten
days on, a 7.99 promotion starts. Three weeks before the installation the shelf had it
at 6.99: announcing "lowest price of the 30 days: 8.99, -11 %" would be unlawful, and the
engine cannot know it is not. So nothing is announced until the history is imported;
then the reduction is compared with the 30 days the history gives.
A product loaded before it goes on sale (a launch) has all its prices recorded: its
first month's reductions are announced as ever, against the lowest since its launch.
"""

from __future__ import annotations

from datetime import datetime

import httpx

from tests.pipeline.small_world import World
from tests.support.ledger import (  # noqa: F401 - fixtures
    DAY,
    api_fixture,
    put_cheese,
    world_fixture,
)
from tests.support.pipeline import publish

HISTORY_HEADER = "sku,channel,store,effective_at,price,regular_price,currency\n"


def _priced_then_reduced(world: World, sku: str) -> None:
    """`sku` priced 8.99 now; ten days on, a 7.99 promotion starts."""
    publish(
        world.sessions,
        [{"action": "set_price", "sku": sku, "amount": "8.99"}],
        now=world.clock.now,
    )
    world.clock.advance(10 * DAY)
    publish(
        world.sessions,
        [
            {
                "action": "upsert_promotion",
                "promotion_id": f"DOWN-{sku}",
                "kind": "fixed_price",
                "amount": "7.99",
                "skus": [sku],
                "valid_from": world.clock.now.isoformat(),
            }
        ],
        now=world.clock.now,
    )


async def _quote(api: httpx.AsyncClient, sku: str) -> dict[str, object]:
    answer = await api.get("/api/v1/quote", params={"sku": sku, "store": "S01"})
    assert answer.status_code == 200, answer.text
    quote: dict[str, object] = answer.json()
    assert quote["price"] == "7.99"
    return quote


async def test_a_product_sold_before_it_was_loaded_announces_nothing_until_its_history_comes(
    world: World, api: httpx.AsyncClient
) -> None:
    installed = world.clock.now
    await put_cheese(
        api, "OLD-1", on_sale_since=datetime.fromisoformat("2025-01-01T00:00:00+00:00")
    )
    _priced_then_reduced(world, "OLD-1")

    quote = await _quote(api, "OLD-1")
    # It was "-11 % from the 30-day low of 8.99": the only days the ledger holds.
    assert (quote["announces_reduction"], quote["prior_price"]) == (False, None), quote

    # The history of its shelf in S01: 6.99 three weeks before the installation.
    history = HISTORY_HEADER + "".join(
        f"OLD-1,store,S01,{(installed - days * DAY).isoformat()},{price},,PLN\n"
        for days, price in ((60, "8.99"), (21, "6.99"), (14, "8.99"))
    )
    imported = await api.post(
        "/api/v1/imports/history", files={"file": ("history.csv", history, "text/csv")}
    )
    assert imported.status_code == 200, imported.text
    quote = await _quote(api, "OLD-1")
    assert (quote["prior_price"], quote["prior_price_basis"]) == ("6.99", "lowest_30_days")
    assert quote["announces_reduction"] is False  # 7.99 is no reduction from 6.99


async def test_a_product_loaded_before_its_launch_announces_its_first_reductions(
    world: World, api: httpx.AsyncClient
) -> None:
    await put_cheese(api, "NEW-1", on_sale_since=world.clock.now)
    _priced_then_reduced(world, "NEW-1")
    quote = await _quote(api, "NEW-1")
    assert (quote["announces_reduction"], quote["prior_price"], quote["prior_price_basis"]) == (
        True,
        "8.99",
        "lowest_since_on_sale",
    )
