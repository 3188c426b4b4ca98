"""A label whose clock runs 30 minutes ahead shows a price change 26 minutes early. The
single controller settles its check-in (the record corrected, a SetClock queued and marked
sent) and is killed before handing the SetClock over or planning the label again. The
restarted controller must put the price of now back and keep it there until the instant,
though the label's clock is never set in that time (a SetClock unanswered is asked again
only after an hour): a timed image sent again would flip at once (found by a hunt)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine

from tests.pipeline.in_memory_gateway import radio
from tests.pipeline.small_world import World
from tests.support.audit import audit_by_label
from tests.support.pipeline import expected_planes


async def test_a_restart_puts_the_price_of_now_back_on_a_label_whose_clock_stays_ahead(
    engine: Engine,
) -> None:
    world = await World.showing(engine, {"MLK-1": "3.49"}, count=2)
    fast = sorted(world.labels)[0]
    flip = world.publish_flip_ahead()
    await world.converge()
    ahead_ms = 30 * 60 * 1000
    world.labels[fast].clock_offset_ms += ahead_ms
    world.labels[fast].scheduled_at_ms -= ahead_ms

    world.clock.now = flip - timedelta(minutes=26)
    world.controller.plan_due_work()
    world.labels[fast].state(now=world.clock.now)
    with world.sessions() as session:
        due_now = expected_planes(session, label_id=fast, sku="MLK-1", at=world.clock.now)
    assert world.labels[fast].shown != due_now

    world.dispatcher.handle_event(world.check_in(fast))
    world.dispatcher.work()
    assert fast in world.dispatcher.settlement.replan_wanted
    # Killed here; started again.
    world.restart_controller(seed=3)
    world.dispatcher.start_over()
    for _ in range(40):  # 20 minutes: past the periodic re-plan and reconciliation passes
        world.clock.advance(timedelta(seconds=30))
        world.controller.plan_due_work()
        await world.send_due()
        world.dispatcher.settle(radio(world.gateway.take(), world.labels, now=world.clock.now))
    world.labels[fast].state(now=world.clock.now)
    verdict = audit_by_label(world.sessions, world.clock.now)[fast]
    state = world.state(fast)
    assert world.labels[fast].shown == due_now, (
        f"audit: {verdict.audit_class} {verdict.reason}; "
        f"record displayed==desired: {state.displayed_hash == state.desired_hash}"
    )

    # The change still comes at its instant, sent then (the clock is still ahead).
    world.clock.now = flip + timedelta(seconds=5)
    for _ in range(6):
        world.controller.plan_due_work()
        await world.send_due()
        world.dispatcher.settle(radio(world.gateway.take(), world.labels, now=world.clock.now))
        world.clock.advance(timedelta(seconds=5))
    world.labels[fast].state(now=world.clock.now)
    with world.sessions() as session:
        due_then = expected_planes(session, label_id=fast, sku="MLK-1", at=world.clock.now)
    assert due_then != due_now
    assert world.labels[fast].shown == due_then
