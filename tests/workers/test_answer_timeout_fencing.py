"""A worker that stalled holding frames in flight must not time out, on waking, the frames
its store's new holder sent again meanwhile.

Every write a worker made for a store was fenced by its lease (`stores_held`) but its
answer timeouts (`Dispatcher._expire`). A worker stalled past its leases and its frames'
answer timeout, its store taken over and the frames it had left `sent` sent again by the
new holder (the same rows, `sent` again), woke up still counting the store as its own:
its next dispatch round found its flights overdue and the rows `sent`, and timed them
out while the holder waited for their answers. Either it put them back to `pending`
behind a backoff: the record said unsent while they were on their way, and when their
answers were lost the holder, whose window had nothing else due on that gateway, never
sent them again (its own timeout found them no longer `sent`): the labels kept the old
price; where other work was due on the gateway, the holder sent them a second time. Or,
their attempts spent, it parked them as offline: `esl health` counted labels whose
frames were on their way as failed until the holder heard the answers. Now the timeouts
commit only under the fence of the stores they write for, as every other write: the
stale worker's round rolls back and drops the store, and the holder's window alone waits
for the answers.

Real parts: PostgreSQL, two worker controllers (planner, dispatcher, settlement), the
firmware_sim labels, one test clock. The labels answer the holder's frames 30 s after
they went out (a gateway relaying them at the labels' next wake-up: within the answer
timeout, later than a retry's backoff), or never (lost on the way).
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import Engine

from esl.pipeline.retry import RetryPolicy
from esl.services.health import label_health
from gateways.base import Downlink
from tests.pipeline.small_world import World
from tests.workers.world_workers import (
    assert_still_sent,
    every_label_shows,
    holder_rounds,
    only_the_holders_timeout_sends_again,
    price_change_sent_again,
)

pytestmark = pytest.mark.integration

# When the labels' answers to the holder's frames reach it.
ANSWERED_AFTER = timedelta(seconds=30)


async def _stale_worker_wakes_with_its_frames_sent_again(
    engine: Engine, policy: RetryPolicy
) -> tuple[World, dict[str, str], list[Downlink]]:
    """A price change planned and sent by a worker (`policy` its retries) that stalls past
    its frames' answer timeout; another worker takes S01 over and sends them again; then
    the stale worker wakes and runs a dispatch round. The world (its holder serving), the
    due content by label, and the frames the holder sent."""
    world = World(engine, count=2)
    stale, holder, due, sent = await price_change_sent_again(
        world, stalled=policy.ack_timeout, policy=policy
    )

    # The stale worker wakes: its round comes before the holder hears the answers.
    assert not stale.dispatcher.work()
    assert_still_sent(world, by="the stale worker's timeouts")
    assert "S01" not in (stale.stores or ()), "the stale worker still counts S01 as its own"
    assert world.controller is holder
    return world, due, sent


async def test_a_stalled_worker_retries_no_frame_the_new_holder_sent_again(
    engine: Engine,
) -> None:
    policy = RetryPolicy()
    world, due, sent = await _stale_worker_wakes_with_its_frames_sent_again(engine, policy)
    # The holder's frames are lost on the way: its own timeout sends them again.
    await only_the_holders_timeout_sends_again(world, sent, due, ack_timeout=policy.ack_timeout)


async def test_a_stalled_worker_parks_no_frame_the_new_holder_sent_again(
    engine: Engine,
) -> None:
    # Two attempts: the stale worker's send and the holder's spend them.
    world, due, sent = await _stale_worker_wakes_with_its_frames_sent_again(
        engine, RetryPolicy(max_attempts=2)
    )
    with world.sessions() as session:
        (health,) = label_health(session, now=world.clock.now, stores=["S01"])
    assert (health.failed, health.failures) == (0, {}), "health counts labels failed"
    reached = await holder_rounds(world, sent, answered_after=ANSWERED_AFTER)
    assert Counter(frame.label_id for _, frame in reached) == dict.fromkeys(world.labels, 1)
    every_label_shows(world, due)
    with world.sessions() as session:
        (health,) = label_health(session, now=world.clock.now, stores=["S01"])
    assert (health.up_to_date, health.failed) == (2, 0)
