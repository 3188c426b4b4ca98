"""A store's opening on a new installation: every store is loaded (PUT /api/v1/stores, the
store file) on the day the system is installed, though it has sold for years. Its
reductions are captioned with the 30-day low when it has price history of its shelves
from before (imported), which also moves back its opening; given only its opening
(`opened`), it is no new shelf, but what it charged before its creation here is unknown,
so its first month's reductions are not announced until the history comes:
docs/pricing.md, "New stores". A store created today with neither is new, and its
reduction's prior price is the lowest since it went on sale (PL art. 4 ust. 3)."""

from __future__ import annotations

from datetime import datetime

import httpx

from tests.pipeline.small_world import World
from tests.support.ledger import (  # noqa: F401 - fixtures
    DAY,
    api_fixture,
    promotion,
    world_fixture,
)
from tests.support.pipeline import publish, publish_prices

HISTORY_HEADER = "sku,channel,store,effective_at,price,regular_price,currency\n"


async def _quote(api: httpx.AsyncClient, store: str) -> dict[str, object]:
    answer = await api.get("/api/v1/quote", params={"sku": "CHS-1", "store": store})
    assert answer.status_code == 200, answer.text
    return answer.json()


async def _opened(api: httpx.AsyncClient, store: str) -> datetime | None:
    answer = await api.get(f"/api/v1/stores/{store}")
    assert answer.status_code == 200, answer.text
    opened = answer.json()["opened"]
    return datetime.fromisoformat(opened) if opened is not None else None


async def _put_store(api: httpx.AsyncClient, code: str, **body: object) -> httpx.Response:
    return await api.put(f"/api/v1/stores/{code}", json={"name": "Sopot", **body})


async def _reduce_ten_days_on(world: World, api: httpx.AsyncClient) -> dict[str, object]:
    """CHS-1 at 4.99 (chain-wide since the world began), 5.49 from tomorrow, 4.79 from ten
    days on: S09's quote then."""
    world.clock.advance(DAY)
    publish_prices(world.sessions, {"CHS-1": "5.49"}, now=world.clock.now)
    world.clock.advance(9 * DAY)
    publish(
        world.sessions,
        [promotion("DOWN", "4.79", starts=world.clock.now, ends=None)],
        now=world.clock.now,
    )
    return await _quote(api, "S09")


async def test_a_store_created_today_with_60_days_of_imported_history_keeps_the_30_day_low(
    world: World, api: httpx.AsyncClient
) -> None:
    world.clock.advance(90 * DAY)
    assert (await _put_store(api, "S09")).status_code == 200
    sixty_days_ago = world.clock.now - 60 * DAY
    history = HISTORY_HEADER + f"CHS-1,store,S09,{sixty_days_ago.isoformat()},4.99,,PLN\n"
    imported = await api.post(
        "/api/v1/imports/history", files={"file": ("history.csv", history, "text/csv")}
    )
    assert imported.status_code == 200, imported.text
    # The history proves S09 sold 60 days ago: it is open since then.
    assert await _opened(api, "S09") == sixty_days_ago
    quote = await _reduce_ten_days_on(world, api)
    assert (quote["prior_price"], quote["prior_price_basis"]) == ("4.99", "lowest_30_days")


async def _announces_nothing_until_its_history_comes(world: World, api: httpx.AsyncClient) -> None:
    """S09, created today with an earlier opening, reduced ten days on: what its shelf
    charged before its creation here is unknown, so the reduction is not announced (no
    low nobody knows); its history imported, it is announced with the 30-day low."""
    quote = await _reduce_ten_days_on(world, api)
    assert (quote["price"], quote["announces_reduction"], quote["prior_price"]) == (
        "4.79",
        False,
        None,
    ), quote
    sixty_days_ago = world.clock.now - 60 * DAY
    history = HISTORY_HEADER + f"CHS-1,store,S09,{sixty_days_ago.isoformat()},4.99,,PLN\n"
    imported = await api.post(
        "/api/v1/imports/history", files={"file": ("history.csv", history, "text/csv")}
    )
    assert imported.status_code == 200, imported.text
    quote = await _quote(api, "S09")
    assert (quote["prior_price"], quote["prior_price_basis"]) == ("4.99", "lowest_30_days")


async def test_a_store_given_its_opening_90_days_ago_is_no_new_shelf(
    world: World, api: httpx.AsyncClient
) -> None:
    world.clock.advance(120 * DAY)
    opened = world.clock.now - 90 * DAY
    answer = await _put_store(api, "S09", opened=opened.isoformat())
    assert answer.status_code == 200, answer.text
    assert datetime.fromisoformat(answer.json()["opened"]) == opened
    await _announces_nothing_until_its_history_comes(world, api)


async def test_a_store_file_gives_the_opening(world: World, api: httpx.AsyncClient) -> None:
    world.clock.advance(120 * DAY)
    opened = world.clock.now - 90 * DAY
    stores = f"code,name,zone,opened\nS09,Sopot,,{opened.isoformat()}\n"
    answer = await api.post(
        "/api/v1/imports/stores", files={"file": ("stores.csv", stores, "text/csv")}
    )
    assert answer.status_code == 200, answer.text
    assert await _opened(api, "S09") == opened
    await _announces_nothing_until_its_history_comes(world, api)


async def test_a_store_created_today_with_neither_is_new(
    world: World, api: httpx.AsyncClient
) -> None:
    world.clock.advance(90 * DAY)
    assert (await _put_store(api, "S09")).status_code == 200
    assert await _opened(api, "S09") == world.clock.now
    quote = await _reduce_ten_days_on(world, api)
    assert (quote["prior_price"], quote["prior_price_basis"]) == ("4.99", "lowest_since_on_sale")


async def test_an_opening_in_the_future_is_refused_and_no_store_is_created(
    world: World, api: httpx.AsyncClient
) -> None:
    answer = await _put_store(api, "S09", opened=(world.clock.now + DAY).isoformat())
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert (error["code"], error["field"]) == ("invalid_item", "opened")
    assert "in the future" in error["message"]
    assert (await api.get("/api/v1/stores/S09")).status_code == 404


async def test_an_opening_is_put_right_earlier_and_later_only_up_to_its_first_price(
    world: World, api: httpx.AsyncClient
) -> None:
    world.clock.advance(120 * DAY)
    created = world.clock.now  # S09's shelves get their prices now
    assert (await _put_store(api, "S09", opened="2016-03-01T00:00:00Z")).status_code == 200
    # A mistyped year put right: later, but not after its first price.
    ten_days_ago = created - 10 * DAY
    answer = await _put_store(api, "S09", opened=ten_days_ago.isoformat())
    assert answer.status_code == 200, answer.text
    assert await _opened(api, "S09") == ten_days_ago
    world.clock.advance(2 * DAY)
    late = await _put_store(api, "S09", opened=(created + DAY).isoformat())
    assert late.status_code == 422, late.text
    error = late.json()["error"]
    assert (error["code"], error["field"]) == ("invalid_item", "opened")
    assert "after the first price its shelves have in the ledger" in error["message"]
    assert await _opened(api, "S09") == ten_days_ago
    # Leaving it out keeps it; an earlier one always stands.
    assert (await _put_store(api, "S09", zone=None)).status_code == 200
    assert await _opened(api, "S09") == ten_days_ago
    earlier = created - 400 * DAY
    assert (await _put_store(api, "S09", opened=earlier.isoformat())).status_code == 200
    assert await _opened(api, "S09") == earlier


async def test_history_before_a_given_opening_moves_it_back_and_a_later_one_is_refused(
    world: World, api: httpx.AsyncClient
) -> None:
    world.clock.advance(120 * DAY)
    opened = world.clock.now - 20 * DAY
    assert (await _put_store(api, "S09", opened=opened.isoformat())).status_code == 200
    sold = world.clock.now - 50 * DAY
    history = HISTORY_HEADER + f"CHS-1,store,S09,{sold.isoformat()},4.99,,PLN\n"
    imported = await api.post(
        "/api/v1/imports/history", files={"file": ("history.csv", history, "text/csv")}
    )
    assert imported.status_code == 200, imported.text
    assert await _opened(api, "S09") == sold
    # The history shows S09 selling 50 days ago: an opening after that is refused.
    refused = await _put_store(api, "S09", opened=opened.isoformat())
    assert refused.status_code == 422, refused.text
    assert await _opened(api, "S09") == sold
