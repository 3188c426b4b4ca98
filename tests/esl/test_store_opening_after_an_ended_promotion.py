"""A store opened after a promotion ended is not refused for that promotion.

Same world as tests/esl/test_store_opening_checks_promotions.py: CHS-1 at 4.99 nationally
and 8.00 in zones north and south (every store); a national fixed price CHS-6 of 6.00 is
taken, for a week. Once the deal is over (its valid_until passed, or it was ended with
end_promotion, the way out docs/api.md gives), nobody can pay 6.00 again, so opening S04
without a zone makes it meet no rule at any instant it still applies: the opening is
taken. The check of what an opening makes a promotion meet looked at the promotion's
whole window and refused it naming CHS-6, for ever (found by a reviewer)."""

from __future__ import annotations

from datetime import timedelta

import httpx

from tests.pipeline.small_world import World
from tests.support.ledger import api_fixture, world_fixture  # noqa: F401 - fixtures
from tests.support.pipeline import publish


def _ended_deal(world: World, *, end_by_action: bool) -> None:
    publish(
        world.sessions,
        [
            {"action": "set_price", "sku": "CHS-1", "zone": zone, "amount": "8.00"}
            for zone in ("north", "south")
        ],
        now=world.clock.now,
    )
    world.clock.advance(timedelta(minutes=5))
    deal = {
        "action": "upsert_promotion",
        "promotion_id": "CHS-6",
        "kind": "fixed_price",
        "amount": "6.00",
        "skus": ["CHS-1"],
        "valid_from": world.clock.now.isoformat(),
    }
    if not end_by_action:
        deal["valid_until"] = (world.clock.now + timedelta(days=7)).isoformat()
    publish(world.sessions, [deal], now=world.clock.now)
    world.clock.advance(timedelta(days=1))
    if end_by_action:
        publish(
            world.sessions,
            [{"action": "end_promotion", "promotion_id": "CHS-6"}],
            now=world.clock.now,
        )
    world.clock.advance(timedelta(days=8))


async def _open_s04(world: World, api: httpx.AsyncClient) -> None:
    # Control: the deal is over everywhere.
    quoted = await api.get("/api/v1/quote", params={"sku": "CHS-1", "store": "S03"})
    assert quoted.status_code == 200, quoted.text
    assert quoted.json()["price"] == "8.00", quoted.text
    opened = await api.put("/api/v1/stores/S04", json={"name": "Sopot"})
    assert opened.status_code == 200, opened.text
    quoted = await api.get("/api/v1/quote", params={"sku": "CHS-1", "store": "S04"})
    assert quoted.status_code == 200, quoted.text
    assert quoted.json()["price"] == "4.99", quoted.text


async def test_a_store_opens_after_the_deal_expired(world: World, api: httpx.AsyncClient) -> None:
    _ended_deal(world, end_by_action=False)
    await _open_s04(world, api)


async def test_a_store_opens_after_the_deal_was_ended(world: World, api: httpx.AsyncClient) -> None:
    _ended_deal(world, end_by_action=True)
    await _open_s04(world, api)
