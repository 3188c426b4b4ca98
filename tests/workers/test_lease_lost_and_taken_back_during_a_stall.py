"""A worker whose store was taken over while it stalled, and given back to it before it
woke (the new holder stopped, or released it as surplus), must not go on planning that
store with what it read before the stall.

Before, the pipeline thread compared the stores its balance thread held with those it
followed: the same set, so nothing had happened. The stalled planning pass went on with
the prices it loaded before the stall, and its fence passed (the lease was its own
again): its next chunk superseded the newer price the interim holder had planned and
delivered with a frame of the older one. The label showed the older price, as the
record said, and the newer publication was recorded as planned for the store, so
nothing put it back until the periodic re-plan (15 minutes). Now a balance names the
stores it took; one the worker already counted as its own was lost meanwhile: the
running pass leaves it, and the worker follows it as a store taken over (windows
dropped, frames left sent sent again, its labels planned again).

Real parts: PostgreSQL, two worker controllers (planner, dispatcher, settlement), the
firmware_sim labels, one test clock. The stale worker's pass is driven a chunk at a
time, as its pipeline thread runs it, stopped after its first chunk (the stall).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, select

from esl.db.models import OutboxRow
from esl.pipeline.store_leases import leave
from tests.pipeline.small_world import World
from tests.support.pipeline import publish_prices
from tests.workers.world_workers import (
    balance,
    follow_balance,
    plan_to_the_end,
    serving,
    taken_over,
    worker_with_prices,
)

pytestmark = pytest.mark.integration


def _contents(world: World) -> list[str]:
    """The contents of S01's frames, in the order they were written."""
    with world.sessions() as session:
        return list(
            session.scalars(
                select(OutboxRow.content_hash)
                .where(OutboxRow.store == "S01")
                .order_by(OutboxRow.id)
            )
        )


async def test_a_store_given_back_to_a_stalled_worker_gets_no_older_price(
    engine: Engine,
) -> None:
    world = World(engine, count=2)
    # One label per planning chunk: the stall falls between the two labels' chunks.
    stale = await worker_with_prices(world, plan_chunk=1)

    world.clock.advance(timedelta(seconds=5))
    publish_prices(world.sessions, {"MLK-1": "3.79"}, now=world.clock.now)
    stale_steps = stale._planning_steps()
    assert stale._next_step(stale_steps) == 1

    # It stalls past the stale bound; another worker takes S01 over, plans and delivers
    # a newer price, then stops (its stores freed at once).
    older = {world.hash_of(label_id) for label_id in world.labels}
    holder = taken_over(world, stale, plan_chunk=1)
    serving(world, holder)
    publish_prices(world.sessions, {"MLK-1": "3.99"}, now=world.clock.now)
    await world.converge()
    newest = {label_id: world.hash_of(label_id) for label_id in world.labels}
    assert not older & set(newest.values())
    written = len(_contents(world))
    assert holder.identity is not None
    with world.sessions.begin() as session:
        leave(session, holder.identity)

    # The stale worker's balance thread wakes first and takes S01 back; then its
    # pipeline thread goes on with its pass.
    balance(world, stale, at=world.clock.now)
    plan_to_the_end((stale, stale_steps))
    assert "S01" in (stale.stores or ())
    stale_frames = set(_contents(world)[written:])
    assert not stale_frames & older, "the stalled pass wrote a frame of the older price"
    serving(world, stale)
    for _ in range(3):
        world.clock.advance(timedelta(seconds=5))
        follow_balance(world, stale, at=world.clock.now)
        await world.converge()
    for label_id, label in world.labels.items():
        assert label.shown_hash is not None
        assert label.shown_hash.hex() == newest[label_id], f"{label_id} shows the older price"
        state = world.state(label_id)
        assert state.confirmed_hash == state.desired_hash == newest[label_id]
