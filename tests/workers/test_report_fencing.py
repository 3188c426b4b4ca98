"""A stale worker must not act on a store gateway's report about a frame of the store's
new holder either.

A gateway's report that it gave up on a frame (the label out of reach) puts the frame
back to pending for its retry after a backoff; the dispatcher that holds the frame in
flight lets it go and wakes its gateway's window at the retry's instant. Reports were
taken by any worker still hearing the store, unfenced: the stale worker, first, put the
holder's frame back to pending (its own windows woken, which serve the store no more),
and to the holder the same report then named a frame no longer sent. Its window, with
nothing else pending, stayed idle: the retry of a new price never went out, not even
after the frame's answer timed out, until unrelated work woke the window.

Real parts: PostgreSQL, two worker controllers, one test clock.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, select

from esl.db.models import OutboxRow
from gateways.base import Uplink
from gateways.protocol import GatewayReport, encode_gateway_report, peek_header
from tests.pipeline.small_world import World
from tests.support.pipeline import publish_prices
from tests.workers.world_workers import serving, taken_over, worker_with_prices

pytestmark = pytest.mark.integration


async def test_a_report_heard_by_a_stale_worker_still_has_the_frame_sent_again(
    engine: Engine,
) -> None:
    world = World(engine, count=1)
    stale = await worker_with_prices(world)

    # The worker stalls; another takes its stores over and sends a new price.
    holder = taken_over(world, stale)
    serving(world, holder)
    publish_prices(world.sessions, {"MLK-1": "3.79"}, now=world.clock.now)
    holder.plan_due_work()
    await world.send_due()
    (frame,) = world.gateway.take()
    sequence = peek_header(frame.payload).sequence

    # The gateway gives up on it (the label out of reach); both workers hear the report.
    report = GatewayReport(
        label_id=frame.label_id, sequence=sequence, at=world.clock.now, detail="no ack"
    )
    uplink = Uplink("S01", "gw1", encode_gateway_report(report), world.clock.now)
    stale.dispatcher.handle_event(uplink)
    stale.dispatcher.work()
    holder.dispatcher.handle_event(uplink)
    holder.dispatcher.work()

    resent = []
    for _ in range(20):  # ten minutes: past every backoff and the answer's timeout
        world.clock.advance(timedelta(seconds=30))
        await world.send_due()
        resent += [d for d in world.gateway.take() if d.label_id == frame.label_id]
    with world.sessions() as session:
        statuses = session.scalars(
            select(OutboxRow.status).where(OutboxRow.label_id == frame.label_id)
        ).all()
    assert resent, f"the new price was never sent again (rows: {statuses})"
