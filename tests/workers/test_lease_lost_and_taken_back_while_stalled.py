"""A worker whose store is taken over and given back while it stalls must not go on
planning that store with what it read before the stall: neither between two chunks of a
planning pass nor inside one of its transactions.

Between chunks: before, the pipeline thread compared the stores its balance thread held
with those it followed: the same set, so nothing had happened. The stalled pass went on
with the prices it loaded before the stall, and its fence passed (the lease was its own
again): its next chunk superseded the newer price the interim holder had planned and
delivered with a frame of the older one, and the newer publication was recorded as planned
for the store, so nothing put it back until the periodic re-plan (15 minutes). Now a
balance names the stores it took; one the worker already counted as its own was lost
meanwhile: the running pass leaves it, and the worker follows it as a store taken over
(windows dropped, frames left sent sent again, its labels planned again).

Inside a transaction: the fence before the commit read the store's lease and found this
worker its holder, which it was again. Now a worker remembers the tenure it holds each
store under (the lease's `taken_at`, a fencing token) and the fence checks it too: a lease
lost and taken back is a new tenure, the transaction rolls back, and the store is followed
as taken over (its labels planned again from what is due now).

Real parts: PostgreSQL, two worker controllers (planner, dispatcher, settlement), the
firmware_sim labels, one test clock. The stale worker's pass is driven a chunk at a time,
as its pipeline thread runs it; inside a transaction, its chunk runs on a thread, held
(its prices read, its labels' states not yet locked) until the test lets it go.
"""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select

from esl.db.models import OutboxRow
from esl.pipeline import UpdateController
from esl.pipeline.store_leases import leave
from tests.pipeline.small_world import World
from tests.support.pipeline import publish_prices
from tests.support.waiting import until
from tests.workers.world_workers import (
    balance,
    follow_balance,
    plan_to_the_end,
    serving,
    stalled_between_chunks,
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


async def _taken_over_and_given_back(
    world: World, stale: UpdateController, *, plan_chunk: int | None = None
) -> tuple[dict[str, str], int]:
    """While `stale` stalls past the stale bound: another worker takes S01 over, plans and
    delivers a newer price (3.99), then stops (its stores freed at once); `stale`'s balance
    thread wakes and takes S01 back. The newer contents by label, and how many S01 frames
    were written by then."""
    older = {world.hash_of(label_id) for label_id in world.labels}
    changes = {} if plan_chunk is None else {"plan_chunk": plan_chunk}
    holder = taken_over(world, stale, **changes)
    serving(world, holder)
    publish_prices(world.sessions, {"MLK-1": "3.99"}, now=world.clock.now)
    await world.converge()
    newest = {label_id: world.hash_of(label_id) for label_id in world.labels}
    assert not older & set(newest.values())
    written = len(_contents(world))
    assert holder.identity is not None
    with world.sessions.begin() as session:
        leave(session, holder.identity)
    balance(world, stale, at=world.clock.now)
    return newest, written


async def _every_label_shows(world: World, stale: UpdateController, newest: dict[str, str]) -> None:
    """`stale` serving again, a few balances later: every panel and record the newer price."""
    serving(world, stale)
    for _ in range(3):
        world.clock.advance(timedelta(seconds=5))
        follow_balance(world, stale, at=world.clock.now)
        await world.converge()
    assert "S01" in (stale.stores or ())
    for label_id, label in world.labels.items():
        assert label.shown_hash is not None
        assert label.shown_hash.hex() == newest[label_id], f"{label_id} shows the older price"
        state = world.state(label_id)
        assert state.confirmed_hash == state.desired_hash == newest[label_id]


async def test_a_store_given_back_to_a_stalled_worker_gets_no_older_price(
    engine: Engine,
) -> None:
    world = World(engine, count=2)
    stale, stale_steps = await stalled_between_chunks(world)
    older = {world.hash_of(label_id) for label_id in world.labels}

    newest, written = await _taken_over_and_given_back(world, stale, plan_chunk=1)
    # Then its pipeline thread goes on with its pass.
    plan_to_the_end((stale, stale_steps))
    assert "S01" in (stale.stores or ())
    stale_frames = set(_contents(world)[written:])
    assert not stale_frames & older, "the stalled pass wrote a frame of the older price"
    await _every_label_shows(world, stale, newest)


async def test_a_store_lost_and_taken_back_inside_a_planning_transaction_gets_no_older_price(
    engine: Engine,
) -> None:
    world = World(engine, count=2)
    stale = await worker_with_prices(world)

    world.clock.advance(timedelta(seconds=5))
    publish_prices(world.sessions, {"MLK-1": "3.79"}, now=world.clock.now)
    older = {world.hash_of(label_id) for label_id in world.labels}

    # The stale worker's chunk stalls inside its transaction once it has read the
    # chunk's prices (the ledger of 3.79), before it locks its labels' states.
    inside, go_on = threading.Event(), threading.Event()
    read_ledger = stale.planner._read_ledger_of

    def stalling(*args: Any, **kwargs: Any) -> Any:
        read = read_ledger(*args, **kwargs)
        if not inside.is_set():
            inside.set()
            assert go_on.wait(timeout=60), "the test never let the stalled chunk go on"
        return read

    stale.planner._read_ledger_of = stalling  # type: ignore[method-assign]
    stale_steps = stale._planning_steps()
    stale_plans = asyncio.create_task(asyncio.to_thread(stale._next_step, stale_steps))
    try:
        await until(inside.is_set, what="the stale worker's chunk, its prices read", timeout_s=60)
        # S01 is taken back before the chunk commits.
        newest, written = await _taken_over_and_given_back(world, stale)
    finally:
        go_on.set()
        await stale_plans
    plan_to_the_end((stale, stale_steps))
    stale_frames = set(_contents(world)[written:])
    assert not stale_frames & older, "the stalled transaction wrote a frame of the older price"
    await _every_label_shows(world, stale, newest)
    assert not set(_contents(world)[written:]) & older
