"""A product put into a category (moved there, or created in it) after that category's
promotion was published: the promotion's later start and end change its price, so the
ledger records them at their instants and a later reduction's 30-day low sees them
(docs/pricing.md, "Every price that applied is in the ledger, also those nobody
published at their instant"). The promotion's own later instants name the SKUs the
category had when it was published; the move or creation adds its SKU to them.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import httpx
import pytest

from esl.imports import import_products
from tests.pipeline.small_world import World
from tests.support.ledger import (  # noqa: F401 - fixtures
    DAY,
    api_fixture,
    category_promotion,
    label_prior_price,
    move_cheese,
    promotion,
    shelf,
    world_fixture,
)
from tests.support.pipeline import publish, publish_prices

NEW_CHEESE_FILE = """\
sku,name,brand,gtin,category,vat_rate,net_content,net_unit,perishable,on_sale_since
CHS-2,Ser edamski 150 g,Mlekovita,5900512000022,cheese,5,150,g,no,2025-01-01T00:00:00Z
"""


async def test_a_product_moved_into_a_category_before_its_promotion_starts_records_the_start(
    world: World, api: httpx.AsyncClient
) -> None:
    t0 = world.clock.now
    starts, ends = t0 + 2 * DAY, t0 + 5 * DAY
    publish(world.sessions, [category_promotion("cheese", starts=starts, ends=ends)], now=t0)
    world.clock.advance(DAY)
    await move_cheese(api, "cheese")  # from `starts` on, 4.99 - 1.00 = 3.99

    # The promotion starts and ends; the controller looks every few seconds.
    world.clock.now = starts + timedelta(seconds=5)
    world.controller.plan_due_work()
    world.clock.now = ends + timedelta(seconds=5)
    world.controller.plan_due_work()

    # The shelf charged 3.99 from `starts` (the quote of that instant says so) ...
    answer = await api.get(
        "/api/v1/quote",
        params={"sku": "CHS-1", "store": "S01", "at": (starts + timedelta(hours=1)).isoformat()},
    )
    assert Decimal(answer.json()["price"]) == Decimal("3.99"), answer.text
    # ... and the ledger has it, at the start and the end.
    assert shelf(world, starts) == [("scheduled", Decimal("3.99"), "ALL-CHEESE")]
    assert shelf(world, ends) == [("scheduled", Decimal("4.99"), None)]

    # Two days later a 3.49 promotion: its 30-day low is the 3.99 charged last week
    # (4.99 and -30 % before).
    world.clock.advance(2 * DAY)
    publish(
        world.sessions,
        [promotion("CHEAP", "3.49", starts=world.clock.now, ends=None)],
        now=world.clock.now,
    )
    answer = await api.get("/api/v1/quote", params={"sku": "CHS-1", "store": "S01"})
    assert Decimal(answer.json()["prior_price"]) == Decimal("3.99"), answer.text
    assert label_prior_price(world) == Decimal("3.99")


async def test_a_product_moved_into_a_running_category_promotion_records_its_end(
    world: World, api: httpx.AsyncClient
) -> None:
    t0 = world.clock.now
    ends = t0 + 3 * DAY
    publish(world.sessions, [category_promotion("cheese", starts=t0, ends=ends)], now=t0)
    world.clock.advance(DAY)
    await move_cheese(api, "cheese")  # 3.99 from the move (an entry, source "product")
    world.clock.now = ends + timedelta(seconds=5)
    world.controller.plan_due_work()  # the promotion ended: 4.99 again on the shelf
    assert shelf(world, ends) == [("scheduled", Decimal("4.99"), None)]

    # 40 days at 4.99 later, a 4.49 promotion saves 0.50 against the 30-day low of 4.99
    # (refused before: the ledger had 3.99 running on).
    world.clock.advance(40 * DAY)
    publish(
        world.sessions,
        [promotion("LATER", "4.49", starts=world.clock.now, ends=None)],
        now=world.clock.now,
    )
    answer = await api.get("/api/v1/quote", params={"sku": "CHS-1", "store": "S01"})
    body = answer.json()
    assert (body["announces_reduction"], body["prior_price"]) == (True, "4.99"), answer.text


@pytest.mark.parametrize("through", ["api", "product file"])
async def test_a_product_created_in_a_category_records_its_promotions_later_start_and_end(
    world: World, api: httpx.AsyncClient, through: str
) -> None:
    t0 = world.clock.now
    starts, ends = t0 + 2 * DAY, t0 + 5 * DAY
    publish(world.sessions, [category_promotion("cheese", starts=starts, ends=ends)], now=t0)
    world.clock.advance(DAY)
    if through == "api":
        await move_cheese(api, "cheese", "Ser edamski 150 g", sku="CHS-2", gtin="5900512000022")
    else:
        with world.sessions.begin() as session:
            import_products(
                session, NEW_CHEESE_FILE, currency="PLN", imported_by="test", now=world.clock.now
            )
    publish_prices(world.sessions, {"CHS-2": "5.99"}, now=world.clock.now)

    world.clock.now = starts + timedelta(seconds=5)
    world.controller.plan_due_work()
    world.clock.now = ends + timedelta(seconds=5)
    world.controller.plan_due_work()
    assert shelf(world, starts, sku="CHS-2") == [("scheduled", Decimal("4.99"), "ALL-CHEESE")]
    assert shelf(world, ends, sku="CHS-2") == [("scheduled", Decimal("5.99"), None)]
