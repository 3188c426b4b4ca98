"""A multi-buy stored under the older, rounded check still loads, so the chain keeps working
(docs/pricing.md): only a change that makes a promotion meet a rule it never met is checked.
MLK-1 at 3.49 with "3 za 10,48" (3.4933 a unit) is such a promotion. Since 060fea7 every
store move or opening checked the whole catalogue's promotions again, so this national one,
meeting no rule it did not meet before, refused opening any store and moving any store to
another zone (by the API and by the store file)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import update

from esl.db.models import PriceRuleRow
from esl.errors import PublicationRejectedError
from esl.imports import import_prices, import_promotions
from esl.imports.stores import import_stores
from tests.pipeline.small_world import World
from tests.support.ledger import api_fixture, world_fixture  # noqa: F401 - fixtures
from tests.support.pipeline import publish as _publish


def publish(sessions, items, *, now):  # type: ignore[no-untyped-def]
    """As tests.support.pipeline.publish, naming the problems when refused."""
    try:
        return _publish(sessions, items, now=now)
    except PublicationRejectedError as rejected:
        raise AssertionError(f"refused: {rejected.problems}") from rejected


def _multi_buy_under_the_old_check(world: World) -> None:
    """MLK-1 at 3.49 with "3 za 10,48" (3.4933 a unit), as a database written before the
    unrounded check holds it: written at 3.50, the rule then stored as it stood, 3.49."""
    now = world.clock.now
    publish(world.sessions, [{"action": "set_price", "sku": "MLK-1", "amount": "3.50"}], now=now)
    publish(
        world.sessions,
        [
            {
                "action": "upsert_promotion",
                "promotion_id": "MLK-3ZA",
                "kind": "multi_buy",
                "quantity": 3,
                "amount": "10.48",
                "skus": ["MLK-1"],
                "valid_from": now.isoformat(),
            }
        ],
        now=now,
    )
    with world.sessions.begin() as session:
        session.execute(
            update(PriceRuleRow).where(PriceRuleRow.sku == "MLK-1").values(amount=Decimal("3.49"))
        )


async def _quote(api: httpx.AsyncClient, store: str = "S01") -> dict[str, object]:
    quoted = await api.get("/api/v1/quote", params={"sku": "MLK-1", "store": store})
    assert quoted.status_code == 200, quoted.text
    result: dict[str, object] = quoted.json()
    return result


async def test_the_chain_still_quotes_the_stored_multi_buy(
    world: World, api: httpx.AsyncClient
) -> None:
    _multi_buy_under_the_old_check(world)
    assert (await _quote(api))["regular_price"] == "3.49"


async def test_a_new_store_opens_beside_the_stored_multi_buy(
    world: World, api: httpx.AsyncClient
) -> None:
    _multi_buy_under_the_old_check(world)
    opened = await api.put("/api/v1/stores/S04", json={"name": "Sopot", "zone": "north"})
    assert opened.status_code == 200, opened.text
    assert (await _quote(api, "S04"))["regular_price"] == "3.49"


async def test_a_store_moves_zone_beside_the_stored_multi_buy(
    world: World, api: httpx.AsyncClient
) -> None:
    _multi_buy_under_the_old_check(world)
    # MLK-1 has one national price: S03 moving north meets no rule MLK-3ZA did not meet.
    moved = await api.put("/api/v1/stores/S03", json={"name": "Kraków", "zone": "north"})
    assert moved.status_code == 200, moved.text
    assert (await api.get("/api/v1/stores/S03")).json()["zone"] == "north"


async def test_a_store_file_moving_and_opening_stores_is_taken(
    world: World, api: httpx.AsyncClient
) -> None:
    _multi_buy_under_the_old_check(world)
    with world.sessions.begin() as session:
        import_stores(
            session,
            "code,name,zone,time_zone\nS03,Kraków,north,\nS04,Sopot,north,\n",
            imported_by="test",
            now=world.clock.now,
            currency="PLN",
        )
    assert (await api.get("/api/v1/stores/S03")).json()["zone"] == "north"
    assert (await api.get("/api/v1/stores/S04")).json()["zone"] == "north"


# The way out docs/api.md gives for a running promotion is `end_promotion`; a price raised
# above the offer makes it lawful. Neither meets a rule MLK-3ZA did not meet before, so
# neither is refused for the terms it was stored with (b9dee4f refused both).


async def test_the_stored_multi_buy_can_be_ended(world: World, api: httpx.AsyncClient) -> None:
    _multi_buy_under_the_old_check(world)
    world.clock.advance(timedelta(hours=1))
    publish(
        world.sessions,
        [{"action": "end_promotion", "promotion_id": "MLK-3ZA"}],
        now=world.clock.now,
    )
    assert (await _quote(api)).get("promotion") in (None, {})


async def test_raising_the_price_above_the_stored_multi_buy_is_taken(
    world: World, api: httpx.AsyncClient
) -> None:
    """3.60 a single against 3.4933 in the offer: the change makes the offer lawful."""
    _multi_buy_under_the_old_check(world)
    world.clock.advance(timedelta(hours=1))
    publish(
        world.sessions,
        [{"action": "set_price", "sku": "MLK-1", "amount": "3.60"}],
        now=world.clock.now,
    )
    assert (await _quote(api))["regular_price"] == "3.60"


async def test_a_price_file_raising_the_price_is_taken(
    world: World, api: httpx.AsyncClient
) -> None:
    """The stored 3.49 ends where 3.60 starts: the file restates it, shortened."""
    _multi_buy_under_the_old_check(world)
    started, raised = world.clock.now, world.clock.now + timedelta(hours=1)
    world.clock.advance(timedelta(hours=1))
    with world.sessions.begin() as session:
        import_prices(
            session,
            "sku,scope,price,currency,valid_from,valid_until\n"
            f"MLK-1,national,3.49,PLN,{started.isoformat()},{raised.isoformat()}\n"
            f"MLK-1,national,3.60,PLN,{raised.isoformat()},\n",
            imported_by="test",
            now=world.clock.now,
            currency="PLN",
        )
    assert (await _quote(api))["regular_price"] == "3.60"


async def test_a_promotion_file_ending_the_stored_multi_buy_is_taken(
    world: World, api: httpx.AsyncClient
) -> None:
    _multi_buy_under_the_old_check(world)
    started = world.clock.now
    world.clock.advance(timedelta(hours=1))
    with world.sessions.begin() as session:
        import_promotions(
            session,
            "id,name,kind,quantity,amount,currency,skus,valid_from,valid_until\n"
            f"MLK-3ZA,Mleko 3 za 10.48,multi_buy,3,10.48,PLN,MLK-1,{started.isoformat()},"
            f"{world.clock.now.isoformat()}\n",
            imported_by="test",
            now=world.clock.now,
            currency="PLN",
        )
    assert (await _quote(api)).get("promotion") in (None, {})


async def test_a_price_cut_below_the_stored_multi_buy_is_still_refused(
    world: World, api: httpx.AsyncClient
) -> None:
    """3.45 a single makes the offer's 3.4933 dearer: a rule it never met (b9dee4f)."""
    _multi_buy_under_the_old_check(world)
    world.clock.advance(timedelta(hours=1))
    with pytest.raises(AssertionError, match="MLK-3ZA"):
        publish(
            world.sessions,
            [{"action": "set_price", "sku": "MLK-1", "amount": "3.45"}],
            now=world.clock.now,
        )
    assert (await _quote(api))["regular_price"] == "3.49"
