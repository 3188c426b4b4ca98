"""A worker that lost a store's lease must not write for it any more: a planning
transaction commits a store's frames only while its worker still holds the store's lease
(read `FOR SHARE` in that transaction, so a takeover waits for the commit or the worker
sees the store gone), and a store found lost is dropped from the worker's stores at once.

Before, a worker stalled past the stale bound in the middle of a planning pass went on
with the prices it had loaded before the stall: once it woke up, its next chunk
superseded the new holder's frame of a newer price with a frame of the older one, which
the new holder then sent. The label showed the old price, as the record said, until the
periodic re-plan (15 minutes later) put the newer one back.

The same when the takeover comes while a planning transaction of the stale worker is
running: its frames of the older price were committed and superseded a moment later by
the new holder's (which waited on the labels' states): a frame of the older price was
in the outbox, and could reach the shelf, for that moment.

Real parts: PostgreSQL, two worker controllers (planner, dispatcher, settlement), the
firmware_sim labels, one test clock. The stale worker's pass is driven a chunk at a
time, as its pipeline thread runs it: stopped after its first chunk (the stall), or held
inside a chunk by a lock the test keeps on `rendered_contents` (the chunk's next write).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, select, text

from esl.db.models import OutboxRow
from tests.pipeline.small_world import World
from tests.support.pipeline import publish_prices
from tests.workers.world_workers import (
    follow_balance,
    plan_to_the_end,
    serving,
    stalled_between_chunks,
    step_until_waiting,
    taken_over,
    worker_with_prices,
)

pytestmark = pytest.mark.integration


def _outbox(world: World) -> list[tuple[int, str, str, str, int]]:
    with world.sessions() as session:
        return [
            tuple(row)
            for row in session.execute(
                select(
                    OutboxRow.id,
                    OutboxRow.label_id,
                    OutboxRow.status,
                    OutboxRow.content_hash,
                    OutboxRow.sequence,
                )
                .where(OutboxRow.store == "S01")
                .order_by(OutboxRow.id)
            )
        ]


async def test_a_worker_stalled_mid_plan_writes_no_older_price_over_the_new_holders(
    engine: Engine,
) -> None:
    world = World(engine, count=2)
    # A price change; the worker starts planning it (its catalogue slice read with the
    # chunks' targets) and stalls after its first chunk, past the stale bound.
    stale, stale_steps = await stalled_between_chunks(world)

    # Meanwhile another worker takes its stores over (its leases are stale), a newer
    # price is published and the new holder plans and delivers it.
    holder = taken_over(world, stale, plan_chunk=1)
    serving(world, holder)
    publish_prices(world.sessions, {"MLK-1": "3.99"}, now=world.clock.now)
    await world.converge()
    newest = {label_id: world.hash_of(label_id) for label_id in world.labels}
    for label_id, label in world.labels.items():
        assert label.shown_hash is not None
        assert label.shown_hash.hex() == newest[label_id]
    before = _outbox(world)

    # The stale worker wakes up and finishes its pass (it has not balanced since: it
    # still believes it holds S01). It must write nothing for S01, and drop it.
    plan_to_the_end((stale, stale_steps))
    assert _outbox(world) == before, "the stale worker wrote S01's outbox after losing it"
    assert "S01" not in (stale.stores or ()), "the stale worker still counts S01 as its own"

    # Its next balance agrees; the new holder goes on.
    follow_balance(world, stale, at=world.clock.now)
    assert "S01" not in (stale.stores or ())
    await world.converge()
    for label_id, label in world.labels.items():
        assert label.shown_hash is not None
        assert label.shown_hash.hex() == newest[label_id], f"{label_id} shows the older price"
        state = world.state(label_id)
        assert state.confirmed_hash == state.desired_hash == newest[label_id]
        last = [row for row in _outbox(world) if row[1] == label_id][-1]
        assert last[3] == newest[label_id], f"{label_id}'s last frame is not the newer price"


async def test_a_worker_whose_store_is_taken_over_mid_transaction_commits_nothing_for_it(
    engine: Engine,
) -> None:
    world = World(engine, count=2)
    stale = await worker_with_prices(world)

    world.clock.advance(timedelta(seconds=5))
    publish_prices(world.sessions, {"MLK-1": "3.79"}, now=world.clock.now)
    older = {world.hash_of(label_id) for label_id in world.labels}
    blocker = world.sessions()
    blocker.begin()
    blocker.execute(text("LOCK TABLE rendered_contents IN SHARE ROW EXCLUSIVE MODE"))
    stale_steps = stale._planning_steps()
    try:
        # The stale worker's chunk of 3.79: signed, its labels' states locked, held
        # before its new image is stored.
        stale_plans = await step_until_waiting(
            engine,
            stale,
            stale_steps,
            table="rendered_contents",
            what="the stale worker's chunk, signed, waiting to store its new image",
        )
        assert not stale_plans.done()
        # Its leases go stale: another worker takes S01 over; a newer price is
        # published, and the new holder's chunk waits on the labels' states.
        holder = taken_over(world, stale)
        publish_prices(world.sessions, {"MLK-1": "3.99"}, now=world.clock.now)
        holder_steps = holder._planning_steps()
        holder_plans = await step_until_waiting(
            engine,
            holder,
            holder_steps,
            table="label_states",
            what="the new holder's chunk waiting on the stale worker's",
        )
    finally:
        blocker.rollback()
        blocker.close()
    await stale_plans
    await holder_plans
    written = {row[3] for row in _outbox(world)}
    assert not written & older, "a frame of the older price went into S01's outbox"
    assert "S01" not in (stale.stores or ()), "the stale worker still counts S01 as its own"

    plan_to_the_end((stale, stale_steps), (holder, holder_steps))
    serving(world, holder)
    await world.converge()
    assert not {row[3] for row in _outbox(world)} & older
    for label_id, label in world.labels.items():
        newest = world.hash_of(label_id)
        assert label.shown_hash is not None
        assert label.shown_hash.hex() == newest
        state = world.state(label_id)
        assert state.confirmed_hash == state.desired_hash == newest
