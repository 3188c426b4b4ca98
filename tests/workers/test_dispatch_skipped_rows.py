"""A frame the send query passed by because another transaction held its row must be
sent once that transaction ends, not when some other work wakes its gateway's window.

The send query reads the due rows `FOR UPDATE SKIP LOCKED` (a stale worker's planning
superseding them before its fence rolled it back, a report or timeout of another worker
settling them). A window that got fewer rows than it had room for went idle until its
next row *not yet due* (`_next_due`, `not_before > now`): with the skipped row due
already and nothing else pending, until never. The frame, a new price, then waited for
the next planning pass or answer to wake the window, however long that took.

Real parts: PostgreSQL, a worker controller, the firmware_sim labels, one test clock.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, select

from esl.db.models import OutboxRow
from tests.pipeline.small_world import PRICES_A, World
from tests.support.pipeline import publish_prices
from tests.workers.world_workers import worker_in

pytestmark = pytest.mark.integration


async def test_a_row_skipped_while_another_transaction_held_it_is_sent_next_round(
    engine: Engine,
) -> None:
    world = World(engine, count=1)
    worker = worker_in(world, at=world.clock.now, gateway=world.gateway)
    world.controller, world.dispatcher = worker, worker.dispatcher
    publish_prices(world.sessions, PRICES_A, now=world.clock.now)
    await world.converge()

    world.clock.advance(timedelta(seconds=5))
    publish_prices(world.sessions, {"MLK-1": "3.79"}, now=world.clock.now)
    worker.plan_due_work()
    with world.sessions() as session:
        row_id, payload = session.execute(
            select(OutboxRow.id, OutboxRow.payload).where(OutboxRow.status == "pending")
        ).one()

    # Another transaction holds the row (and ends without changing it) while a round runs.
    other = world.sessions()
    other.begin()
    try:
        other.execute(select(OutboxRow.id).where(OutboxRow.id == row_id).with_for_update())
        assert worker.dispatcher.work() == []  # passed by: locked
    finally:
        other.rollback()
        other.close()

    world.clock.advance(timedelta(seconds=1))
    sent = worker.dispatcher.work()
    assert payload in [downlink.payload for downlink in sent], (
        "the frame passed by while locked waits for unrelated work to wake its window"
    )
