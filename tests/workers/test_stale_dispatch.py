"""A stale worker must not send its lost store's frames: the new holder would never know.

For up to one balance interval after a takeover the stale worker still runs dispatch
rounds for the store. A round marked `sent` the due rows it read, the holder's new frames
among them, and handed them to its own transport: the holder had recovered the store's
frames in flight when it took the store over, so it held these in no window and timed
them out never. A frame the label did not answer stayed `sent` for good: the new price
never reached the shelf, the label's actions waited for a frame in flight and failed,
and the reconciliation pass passed the label by as having an update open.

Real parts: PostgreSQL, two worker controllers, one test clock.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, select

from esl.db.models import OutboxRow
from tests.pipeline.in_memory_gateway import InMemoryGateway
from tests.pipeline.small_world import World
from tests.workers.world_workers import serving, taken_over, worker_with_prices

pytestmark = pytest.mark.integration


async def test_a_frame_of_the_new_holder_is_never_sent_by_the_stale_worker(
    engine: Engine,
) -> None:
    world = World(engine, count=1)
    stale_air = InMemoryGateway()  # where the stale worker's frames go: lost
    stale = await worker_with_prices(world, gateway=stale_air, converge=False)
    stale.plan_due_work()
    holder_air = world.gateway

    holder = taken_over(world, stale, gateway=holder_air)
    serving(world, holder)

    # The stale worker's round runs before the holder's.
    stale.dispatcher.work()
    sent = []
    for _ in range(20):  # ten minutes: past every timeout and backoff
        await world.send_due()
        sent += world.gateway.take()
        world.clock.advance(timedelta(seconds=30))
    with world.sessions() as session:
        statuses = session.scalars(select(OutboxRow.status)).all()
    assert sent, f"the holder never sent the store's frame (rows: {statuses})"
