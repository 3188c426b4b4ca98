"""A multi-buy stored under the older, rounded check still loads, so the chain keeps working
(docs/pricing.md): only a change that makes a promotion meet a rule it never met is checked.
MLK-1 at 3.49 with "3 za 10,48" (3.4933 a unit) is such a promotion. Since 060fea7 every
store move or opening checked the whole catalogue's promotions again, so this national one,
meeting no rule it did not meet before, refused opening any store and moving any store to
another zone (by the API and by the store file)."""

from __future__ import annotations

from decimal import Decimal

import httpx
from sqlalchemy import update

from esl.db.models import PriceRuleRow
from esl.errors import PublicationRejectedError
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
