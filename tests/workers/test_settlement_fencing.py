"""A worker that lost a store's lease must not settle its answers either: what settling a
check-in corrects in the record is followed by a re-plan that only the worker's memory
holds, and a worker that lost the store never plans it again.

Two workers hear a store's uplinks for up to one balance interval after a takeover (the
stale one has not balanced yet, and still subscribes to the store). Before, the stale
worker settled them. A check-in showing that the label flipped a timed price early (its
clock ran ahead) corrected the record to "shows the timed image, up to date" and put the
label in the stale worker's re-plan set; its planning was then fenced off the store and
rolled back, and the new holder, to which the same check-in was the claim already held
(a duplicate), never planned it: the shelf showed the next price while the till charged
the price of now, and health counted the label up to date, until the holder's periodic
re-plan (15 minutes). Now a settlement commits only while the worker holds the stores of
its uplinks (the fence of a planning transaction, `stores_held`); a store found lost is
dropped at once and its uplinks left to the holder, which hears them too.

Real parts: PostgreSQL, two worker controllers (planner, dispatcher, settlement), the
firmware_sim labels, one test clock.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine

from rendering.encoding import content_hash
from tests.pipeline.in_memory_gateway import radio
from tests.pipeline.small_world import World
from tests.support.pipeline import expected_planes
from tests.workers.world_workers import serving, taken_over, worker_with_prices

pytestmark = pytest.mark.integration


async def test_a_check_in_heard_by_a_stale_worker_still_puts_the_price_of_now_back(
    engine: Engine,
) -> None:
    world = World(engine, count=2)
    stale = await worker_with_prices(world)
    fast = sorted(world.labels)[0]

    flip = world.publish_flip_ahead()
    await world.converge()  # both labels hold the flip
    # Then the fast one's clock jumps 30 minutes ahead, its held flip with it (an answer
    # showing it off before then would have had it set at once).
    ahead_ms = 30 * 60 * 1000
    world.labels[fast].clock_offset_ms += ahead_ms
    world.labels[fast].scheduled_at_ms -= ahead_ms

    # Half an hour later the worker stalls; another takes its stores over and plans them
    # (nothing to send). The fast label has flipped on its own clock meanwhile, unheard.
    world.clock.now = flip - timedelta(minutes=26)
    stale.plan_due_work()
    holder = taken_over(world, stale)
    serving(world, holder)
    await world.converge()
    world.labels[fast].state(now=world.clock.now)
    with world.sessions() as session:
        due_now = expected_planes(session, label_id=fast, sku="MLK-1", at=world.clock.now)
    assert world.labels[fast].shown != due_now  # the early flip this test is about

    # Its check-in reaches both workers (the stale one has not balanced since: it still
    # subscribes to S01), the stale one first.
    check_in = world.check_in(fast)
    stale.dispatcher.handle_event(check_in)
    stale.dispatcher.work()
    holder.dispatcher.handle_event(check_in)
    holder.dispatcher.work()
    # The stale worker's next planning pass is fenced off S01 (rolled back, store dropped).
    stale.plan_due_work()
    assert "S01" not in (stale.stores or ())

    # The holder's next polls (well within the reconciliation pass's period) put the
    # price of now back on the panel, and the flip at its instant.
    for _ in range(6):
        world.clock.advance(timedelta(seconds=5))
        holder.plan_due_work()
        await world.send_due()
        holder.dispatcher.settle(radio(world.gateway.take(), world.labels, now=world.clock.now))
    world.labels[fast].state(now=world.clock.now)
    assert world.labels[fast].shown == due_now, (
        "the label shows the price timed for later while the till charges the price of now"
    )
    state = world.state(fast)
    assert state.displayed_hash == content_hash(due_now).hex()
    assert state.desired_display_at == flip
