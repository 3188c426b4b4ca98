"""The Omnibus ledger records every price that applied, also those that start or end by
themselves: a promotion or price rule published for later gets its entries at its own
instant, once, however late the controller looks; a store moved to another zone gets
its new zone's prices. The prior price of a later reduction sees them all.

SQLite always, PostgreSQL when configured (the `seeded` engine); the real controller
plans and sends to simulated labels through the in-memory gateway, on one test clock.
"""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
from alembic import command
from sqlalchemy import Engine, select

from esl.composition import build_controller, controller_settings
from esl.db.engine import migrations_config, session_factory, upgrade_database
from esl.db.models import LedgerInstantRow
from esl.imports import import_prices, import_products
from esl.services.ledger_instants import record_due_instants
from esl.settings import Settings
from tests.pipeline.in_memory_gateway import InMemoryGateway
from tests.pipeline.small_world import World
from tests.support.database import PRODUCTS_CSV
from tests.support.ledger import (  # noqa: F401 - fixtures
    DAY,
    api_fixture,
    category_promotion,
    entries,
    label_prior_price,
    move_cheese,
    promotion,
    shelf,
    world_fixture,
)
from tests.support.pipeline import publish, publish_prices


def _instants_recorded(world: World) -> int:
    with world.sessions() as session:
        return len(session.scalars(select(LedgerInstantRow)).all())


async def test_a_promotion_that_ran_in_the_last_30_days_is_the_prior_price_of_a_reduction(
    world: World, api: httpx.AsyncClient
) -> None:
    t0 = world.clock.now
    publish(
        world.sessions,
        [promotion("WEEK", "3.99", starts=t0 + 2 * DAY, ends=t0 + 5 * DAY)],
        now=t0,
    )
    # Nothing published while the promotion starts and ends: the next price writer
    # finds both instants due and records them before its own change.
    world.clock.advance(7 * DAY)
    publish(
        world.sessions,
        [promotion("CHEAP", "3.49", starts=world.clock.now, ends=None)],
        now=world.clock.now,
    )
    assert shelf(world, t0 + 2 * DAY) == [("scheduled", Decimal("3.99"), "WEEK")]
    assert shelf(world, t0 + 5 * DAY) == [("scheduled", Decimal("4.99"), None)]

    answer = await api.get("/api/v1/quote", params={"sku": "CHS-1", "store": "S01"})
    assert answer.status_code == 200, answer.text
    assert Decimal(answer.json()["price"]) == Decimal("3.49")
    assert Decimal(answer.json()["prior_price"]) == Decimal("3.99")  # not 4.99

    assert label_prior_price(world) == Decimal("3.99")


async def test_a_controller_down_across_the_start_records_it_at_the_start_when_back(
    world: World, seeded: Engine
) -> None:
    t0 = world.clock.now
    starts = t0 + 2 * DAY
    publish(world.sessions, [promotion("WEEK", "3.99", starts=starts, ends=None)], now=t0)
    await world.converge()
    assert shelf(world, starts) == []

    # Down across the start; a new controller starts 3 hours after it.
    world.clock.advance(2 * DAY + timedelta(hours=3))
    restarted = build_controller(
        controller_settings(Settings.defaults(), window=8),
        gateway=InMemoryGateway(),
        sessions=world.sessions,
        clock=world.clock,
        rng=random.Random(5),
    )
    restarted.plan_due_work()
    assert shelf(world, starts) == [("scheduled", Decimal("3.99"), "WEEK")]
    # Every channel has a price history: the web and app listings of every store too.
    started = entries(world, sku="CHS-1", effective_at=starts)
    assert {(row.channel, row.store) for row in started} == {
        (channel, store) for channel in ("store", "web", "app") for store in ("S01", "S02", "S03")
    }
    # Looked at again (and by the old controller): nothing more.
    restarted.plan_due_work()
    world.controller.plan_due_work()
    assert len(entries(world, sku="CHS-1", effective_at=starts)) == 9
    assert _instants_recorded(world) == 1


async def test_promotions_cancelled_or_moved_before_their_start_leave_no_entry_then(
    world: World,
) -> None:
    t0 = world.clock.now
    publish(
        world.sessions,
        [
            promotion("GONE", "3.99", starts=t0 + DAY, ends=t0 + 3 * DAY),
            promotion("MOVED", "3.89", starts=t0 + 2 * DAY, ends=None),
        ],
        now=t0,
    )
    world.clock.advance(timedelta(hours=1))
    publish(
        world.sessions,
        [
            {"action": "end_promotion", "promotion_id": "GONE"},
            promotion("MOVED", "3.89", starts=t0 + 4 * DAY, ends=None),
        ],
        now=world.clock.now,
    )
    world.clock.advance(5 * DAY)
    world.controller.plan_due_work()
    assert entries(world, promotion_id="GONE") == []
    assert shelf(world, t0 + DAY) == shelf(world, t0 + 2 * DAY) == []
    assert shelf(world, t0 + 3 * DAY) == []
    assert shelf(world, t0 + 4 * DAY) == [("scheduled", Decimal("3.89"), "MOVED")]


async def test_a_web_price_imported_for_next_week_enters_the_web_listings_history(
    world: World,
) -> None:
    t0 = world.clock.now
    starts = t0 + 7 * DAY
    with world.sessions.begin() as session:
        import_prices(
            session,
            "sku,scope,channel,price,currency,valid_from\n"
            f"CHS-1,national,web,4.59,PLN,{starts.isoformat()}\n",
            currency="PLN",
            imported_by="test",
            now=t0,
        )
    world.clock.advance(8 * DAY)
    world.controller.plan_due_work()
    started = entries(world, sku="CHS-1", effective_at=starts)
    assert {(row.channel, row.store, row.amount) for row in started} == {
        ("web", store, Decimal("4.59")) for store in ("S01", "S02", "S03")
    }


async def test_two_workers_looking_at_once_record_an_instant_once(world: World) -> None:
    """Every controller or worker sharing the database records due instants at each of
    its polls (`record_due_instants`, its own transaction): two at the same moment."""
    t0 = world.clock.now
    starts = t0 + DAY
    publish(world.sessions, [promotion("WEEK", "3.99", starts=starts, ends=None)], now=t0)
    world.clock.advance(DAY + timedelta(minutes=1))
    together = threading.Barrier(2, timeout=60)
    written: list[int] = []
    failures: list[BaseException] = []

    def look() -> None:
        try:
            together.wait()
            with world.sessions.begin() as session:
                written.append(record_due_instants(session, now=world.clock.now, currency="PLN"))
        except BaseException as error:  # reported below, not lost in the thread
            failures.append(error)

    threads = [threading.Thread(target=look) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert failures == []
    assert not any(thread.is_alive() for thread in threads)
    assert sorted(written) == [0, 9]  # one of them wrote every key's entry, the other none
    assert shelf(world, starts) == [("scheduled", Decimal("3.99"), "WEEK")]
    assert len(entries(world, sku="CHS-1", effective_at=starts)) == 9
    assert _instants_recorded(world) == 1
    world.controller.plan_due_work()  # and a controller looking later: nothing more
    assert len(entries(world, sku="CHS-1", effective_at=starts)) == 9


async def test_a_store_moved_to_another_zone_records_its_new_prices_at_the_move(
    world: World, api: httpx.AsyncClient
) -> None:
    publish(
        world.sessions,
        [{"action": "set_price", "sku": "CHS-1", "amount": "4.29", "zone": "south"}],
        now=world.clock.now,
    )
    world.clock.advance(DAY)
    moved_at = world.clock.now
    answer = await api.put("/api/v1/stores/S01", json={"name": "Gdańsk Oliwa", "zone": "south"})
    assert answer.status_code == 200, answer.text
    assert shelf(world, moved_at) == [("store", Decimal("4.29"), None)]
    # The zone price has no channel: the store's shelf, web and app listings all moved;
    # S02 stays north, MLK-1 has no price.
    moved = {(row.sku, row.channel, row.store) for row in entries(world, effective_at=moved_at)}
    assert moved == {("CHS-1", channel, "S01") for channel in ("store", "web", "app")}
    # Renamed, not moved: no entry.
    world.clock.advance(DAY)
    answer = await api.put("/api/v1/stores/S01", json={"name": "Oliwa", "zone": "south"})
    assert answer.status_code == 200, answer.text
    assert entries(world, effective_at=world.clock.now) == []


async def test_a_promotion_of_one_zone_enters_only_that_zones_history(world: World) -> None:
    t0 = world.clock.now
    starts = t0 + DAY
    publish(
        world.sessions,
        [{**promotion("SOUTH", "3.99", starts=starts, ends=None), "zones": ["south"]}],
        now=t0,
    )
    world.clock.advance(2 * DAY)
    world.controller.plan_due_work()
    started = entries(world, effective_at=starts)
    # S03 is the south; S01 and S02 (north) kept their price: no entry for them.
    assert {(row.sku, row.channel, row.store, row.amount) for row in started} == {
        ("CHS-1", channel, "S03", Decimal("3.99")) for channel in ("store", "web", "app")
    }


async def test_a_price_published_at_the_very_instant_a_promotion_starts_is_one_entry(
    world: World,
) -> None:
    t0 = world.clock.now
    starts = t0 + DAY
    publish(world.sessions, [promotion("WEEK", "3.99", starts=starts, ends=None)], now=t0)
    world.clock.now = starts
    # The new regular price and the promotion apply from the same instant: the
    # publication's entry already says what applies then (3.99 off 5.49), and the
    # controller recording the instant afterwards agrees with it.
    publish_prices(world.sessions, {"CHS-1": "5.49"}, now=starts)
    world.controller.plan_due_work()
    assert [
        (row.source, row.amount, row.regular_amount)
        for row in entries(world, sku="CHS-1", channel="store", store="S01", effective_at=starts)
    ] == [("publication", Decimal("3.99"), Decimal("5.49"))]
    assert _instants_recorded(world) == 1


async def test_a_product_moved_into_and_out_of_a_promoted_category_records_both_moves(
    world: World, api: httpx.AsyncClient
) -> None:
    publish(
        world.sessions, [category_promotion("cheese", starts=world.clock.now)], now=world.clock.now
    )
    world.clock.advance(DAY)
    moved_in = world.clock.now
    await move_cheese(api, "cheese")
    # The cheese promotion reaches it in every store and channel, at the move.
    entered = entries(world, effective_at=moved_in)
    assert {(row.sku, row.channel, row.store, row.amount, row.promotion_id) for row in entered} == {
        ("CHS-1", channel, store, Decimal("3.99"), "ALL-CHEESE")
        for channel in ("store", "web", "app")
        for store in ("S01", "S02", "S03")
    }
    assert {row.source for row in entered} == {"product"}
    # Renamed, not moved: no entry.
    world.clock.advance(DAY)
    await move_cheese(api, "cheese", name="Ser gouda plastry")
    assert entries(world, effective_at=world.clock.now) == []
    # Back to dairy: the regular price again, and a later reduction's prior price is the
    # promotion's 3.99 it charged in the last 30 days.
    world.clock.advance(DAY)
    moved_out = world.clock.now
    await move_cheese(api, "dairy")
    assert shelf(world, moved_out) == [("product", Decimal("4.99"), None)]
    world.clock.advance(DAY)
    publish(
        world.sessions, [category_promotion("dairy", starts=world.clock.now)], now=world.clock.now
    )
    assert label_prior_price(world) == Decimal("3.99")


async def test_a_category_promotion_that_started_unseen_is_recorded_before_the_product_leaves(
    world: World, api: httpx.AsyncClient
) -> None:
    t0 = world.clock.now
    starts = t0 + DAY
    publish(world.sessions, [category_promotion("dairy", starts=starts)], now=t0)
    # Nobody looked when the dairy promotion started (the controller was down); the
    # cheese leaves dairy an hour later. Its hour at 3.99 is in the ledger, at the start.
    world.clock.now = starts + timedelta(hours=1)
    await move_cheese(api, "cheese")
    assert shelf(world, starts) == [("scheduled", Decimal("3.99"), "ALL-DAIRY")]
    assert shelf(world, world.clock.now) == [("product", Decimal("4.99"), None)]


async def test_a_product_file_moving_products_records_the_prices_the_move_changed(
    world: World,
) -> None:
    publish(
        world.sessions,
        [category_promotion("cheese", starts=world.clock.now)],
        now=world.clock.now,
    )
    world.clock.advance(DAY)
    moved_at = world.clock.now
    cheese_now_cheese = PRODUCTS_CSV.replace("5900512000015,dairy", "5900512000015,cheese")
    # The milk is renamed in the same file: a change, but no move and no entry.
    renamed_milk = cheese_now_cheese.replace("Mleko 3.2% 1 l", "Mleko UHT 3.2% 1 l")
    with world.sessions.begin() as session:
        report = import_products(
            session, renamed_milk, currency="PLN", imported_by="test", now=moved_at
        )
    assert report.updated == 2
    moved = entries(world, effective_at=moved_at)
    assert {(row.sku, row.store, row.amount, row.source) for row in moved} == {
        ("CHS-1", store, Decimal("3.99"), "product") for store in ("S01", "S02", "S03")
    }
    assert len(moved) == 9  # each store's shelf, web and app listings


def test_upgrading_marks_the_passed_instants_of_publications_published_ahead_as_done(
    seeded: Engine,
) -> None:
    # Migration 0019: from it on, a publication published ahead has its instant recorded
    # when it arrives; one whose instant passed before the upgrade is left as it was
    # written (the catalogue of its instant is gone), one still ahead is recorded then.
    sessions = session_factory(seeded)
    long_ago = datetime(2026, 1, 5, 8, tzinfo=UTC)
    passed = publish_prices(sessions, {"MLK-1": "3.49"}, now=long_ago, effective_at=long_ago + DAY)
    ahead_at = datetime.now(UTC) + 400 * DAY
    ahead = publish_prices(sessions, {"MLK-1": "3.59"}, now=long_ago, effective_at=ahead_at)
    command.downgrade(migrations_config(seeded), "0018")
    upgrade_database(seeded)
    with sessions() as session:
        marked = {r.publication_id: r.entries for r in session.scalars(select(LedgerInstantRow))}
    assert marked == {passed: 0}
    with sessions.begin() as session:
        assert record_due_instants(session, now=ahead_at, currency="PLN") == 0
    with sessions() as session:
        recorded = {r.publication_id for r in session.scalars(select(LedgerInstantRow))}
    assert recorded == {passed, ahead}
