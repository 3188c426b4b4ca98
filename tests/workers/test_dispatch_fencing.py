"""A stale worker's dispatcher must not send a frame its store's new holder superseded.

For up to one balance interval after a takeover the stale worker still dispatches the
store (planning and settling are fenced, a dispatch round is not: it writes no new
frames). Its round read the due rows, then marked them `sent` by id: a row superseded by
the holder's planning in between (its transaction committed while the round waited for
the row) was marked `sent` again and its frame, an older price, went out. The label took
it when it came first (the old price on the shelf, recorded as shown) or refused it as
stale when the newer frame came first, and the reopened row, an update still open, was
settled by that refusal. Now the round reads the rows it sends `FOR UPDATE SKIP LOCKED`:
a row another transaction is writing is left for a later round, which sees it settled.

Here the holder's planning is a transaction of the test that supersedes the row and
keeps it uncommitted until the stale round has read the rows (PostgreSQL shows its wait,
before the fix) or finished.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import Engine, select, update

from esl.db.models import OutboxRow
from tests.pipeline.small_world import World
from tests.support.pipeline import publish_prices
from tests.support.waiting import until
from tests.workers.world_workers import (
    taken_over,
    waiting_on_a_lock,
    worker_with_prices,
)

pytestmark = pytest.mark.integration


async def test_a_stale_worker_never_sends_a_frame_the_new_holder_superseded(
    engine: Engine,
) -> None:
    world = World(engine, count=1)
    stale = await worker_with_prices(world)

    # A price change planned by the worker, not sent yet; then the worker stalls and
    # another takes its stores over.
    world.clock.advance(timedelta(seconds=5))
    publish_prices(world.sessions, {"MLK-1": "3.79"}, now=world.clock.now)
    stale.plan_due_work()
    with world.sessions() as session:
        row_id, payload = session.execute(
            select(OutboxRow.id, OutboxRow.payload).where(OutboxRow.status == "pending")
        ).one()
    taken_over(world, stale)  # its lease is what the stale worker runs into

    # The holder plans a newer price: its transaction supersedes the row (uncommitted
    # yet) while the stale worker's dispatch round runs.
    other = world.sessions()
    other.begin()
    try:
        other.execute(update(OutboxRow).where(OutboxRow.id == row_id).values(status="superseded"))
        other.flush()
        round_ = asyncio.create_task(asyncio.to_thread(stale.dispatcher.work))
        await until(
            lambda: round_.done() or waiting_on_a_lock(engine, "outbox"),
            what="the stale round done, or waiting for the superseded row",
            timeout_s=60,
        )
        other.commit()
    finally:
        other.close()
    downlinks = await round_
    assert payload not in [downlink.payload for downlink in downlinks], (
        "the stale worker sent a frame the holder superseded"
    )
    with world.sessions() as session:
        assert session.get(OutboxRow, row_id).status == "superseded"  # type: ignore[union-attr]
