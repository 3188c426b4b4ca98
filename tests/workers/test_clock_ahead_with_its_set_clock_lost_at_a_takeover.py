"""A label whose clock runs 30 minutes ahead shows a price change 26 minutes early. Its
check-in is settled by the worker holding its store (the record corrected, a SetClock
queued and marked sent), which dies before handing the SetClock to the gateway or planning
the label again. The worker taking the store over must put the price of now back on the
shelf and keep it there: the lost SetClock is asked again only after an hour, so a timed
image sent again would flip at once on the clock still ahead (found by a hunt; the
re-plan itself was never lost: the settling transaction forgets the plan)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine

from rendering.encoding import content_hash
from tests.pipeline.in_memory_gateway import radio
from tests.pipeline.small_world import World
from tests.support.audit import audit_by_label
from tests.support.pipeline import expected_planes
from tests.workers.world_workers import serving, taken_over, worker_with_prices

pytestmark = pytest.mark.integration


async def test_a_takeover_puts_the_price_of_now_back_on_a_label_whose_clock_stays_ahead(
    engine: Engine,
) -> None:
    world = World(engine, count=2)
    first = await worker_with_prices(world)
    fast = sorted(world.labels)[0]

    flip = world.publish_flip_ahead()
    await world.converge()
    ahead_ms = 30 * 60 * 1000
    world.labels[fast].clock_offset_ms += ahead_ms
    world.labels[fast].scheduled_at_ms -= ahead_ms

    world.clock.now = flip - timedelta(minutes=26)
    first.plan_due_work()
    world.labels[fast].state(now=world.clock.now)
    with world.sessions() as session:
        due_now = expected_planes(session, label_id=fast, sku="MLK-1", at=world.clock.now)
    assert world.labels[fast].shown != due_now  # flipped early on its own clock

    # The holder hears the check-in and settles it (it holds S01: the fence passes) ...
    first.dispatcher.handle_event(world.check_in(fast))
    first.dispatcher.work()
    assert fast in first.dispatcher.settlement.replan_wanted
    # ... and is killed before its planning thread's next pass. Another worker takes
    # S01 over once its lease is stale.
    holder = taken_over(world, first)
    serving(world, holder)
    for _ in range(12):  # a minute of the holder's polls
        world.clock.advance(timedelta(seconds=5))
        holder.plan_due_work()
        await world.send_due()
        holder.dispatcher.settle(radio(world.gateway.take(), world.labels, now=world.clock.now))
    world.labels[fast].state(now=world.clock.now)
    state = world.state(fast)
    verdict = audit_by_label(world.sessions, world.clock.now)[fast]
    assert world.labels[fast].shown == due_now, (
        f"audit: {verdict.audit_class} shows_due={verdict.shows_due} {verdict.reason}; "
        "the label shows the price timed for later while the till charges the price of now;"
        f" record displayed={state.displayed_hash} desired_at={state.desired_display_at}"
        f" confirmed==desired: {state.confirmed_hash == state.desired_hash}"
    )
    assert state.displayed_hash == content_hash(due_now).hex()
