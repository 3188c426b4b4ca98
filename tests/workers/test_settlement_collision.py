"""A label heard for the first time (a check-in of a label just unpacked, an answer) gets
its `label_states` row from settlement. Two workers holding its store for a moment (a
takeover, one balance interval) may both write that row: the other one planning the new
label while this one settles its check-in. Planning survives that collision
(test_planning_collision.py); settlement must too, and must not lose the answer: before,
its insert failed with a unique violation at commit, the dispatcher's round raised it, and
the worker process died.

Here the other worker is a transaction of the test that writes the label's state and
holds it uncommitted until the worker's settlement waits on it (PostgreSQL shows the
wait), then commits: the worker's write meets it exactly as in the race.
"""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from sqlalchemy import Engine

from esl.db.models import LabelStateRow
from tests.pipeline.small_world import World
from tests.support.waiting import until
from tests.workers.world_workers import waiting_on_a_lock, worker_in

pytestmark = pytest.mark.integration


async def test_a_check_in_whose_new_label_state_another_worker_wrote_is_settled(
    engine: Engine,
) -> None:
    world = World(engine, count=2)
    worker = worker_in(world, at=world.clock.now, gateway=world.gateway)
    new_label = sorted(world.labels)[0]
    other = world.sessions()
    other.begin()
    other.add(LabelStateRow(label_id=new_label))
    other.flush()

    stop = asyncio.Event()
    dispatching = asyncio.create_task(worker.dispatcher.run(stop))
    try:
        check_in = world.check_in(new_label)
        world.gateway.deliver([check_in])
        await until(
            lambda: dispatching.done() or waiting_on_a_lock(engine, "label_states"),
            what="the worker's settlement waiting on the other worker's state of the label",
            timeout_s=60,
        )
        other.commit()

        def heard() -> bool:
            with world.sessions() as session:
                state = session.get(LabelStateRow, new_label)
                return state is not None and state.last_seen is not None

        await until(
            lambda: dispatching.done() or heard(),
            what="the check-in settled",
            timeout_s=60,
        )
        assert not dispatching.done(), dispatching.exception()
        state = world.state(new_label)
        assert state.last_seen == check_in.received_at
        assert state.battery_mv is not None
    finally:
        other.close()
        stop.set()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(dispatching, timeout=60)
