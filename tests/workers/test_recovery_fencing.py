"""A worker must not send again, as left in flight, the frames of a store it gained by a
balance that went stale before it followed it: they are the frames of the store's newer
holder, on their way.

A store a worker gains has its frames left `sent` by its previous holder put back to
`pending`, due at once (`Dispatcher.recover`): their answers may be lost. That write
was not fenced by the lease. A worker whose balance took a store, and whose pipeline
thread stalled past the lease before it followed the balance, was not the store's
holder any more when it did: another worker had taken the store over and sent those
frames again. The recovery put the holder's frames back to `pending` while they were on
their way: the record said unsent, and when their answers were lost the holder, whose
window had nothing else due on that gateway, never sent them again (its timeout found
them no longer `sent`): the labels kept the old price. Now the recovery commits only
under the fence of the stores it recovers: a store lost rolls it back and is dropped
at once.

Real parts: PostgreSQL, three worker controllers, the firmware_sim labels, one test
clock.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine

from tests.pipeline.small_world import World
from tests.support.pipeline import publish_prices
from tests.workers.world_workers import (
    TERMS,
    assert_still_sent,
    balance,
    only_the_holders_timeout_sends_again,
    serving,
    worker_in,
    worker_with_prices,
)

pytestmark = pytest.mark.integration


async def test_a_store_gained_stale_puts_back_no_frame_its_holder_sent(engine: Engine) -> None:
    world = World(engine, count=2)
    first = await worker_with_prices(world)
    late = worker_in(world, at=world.clock.now)
    assert not late.stores, "the late worker took S01 from its live holder"
    world.clock.advance(timedelta(seconds=5))
    publish_prices(world.sessions, {"MLK-1": "3.79"}, now=world.clock.now)
    due = {label_id: world.hash_of(label_id) for label_id in world.labels}
    first.plan_due_work()
    await world.send_due()
    assert world.gateway.take(), "the first worker had nothing to send"

    # The first worker dies, its frames lost; the late worker's balance takes S01, and
    # its pipeline thread stalls before it follows the balance, past the new lease.
    world.clock.advance(TERMS.stale_after + timedelta(seconds=1))
    balance(world, late, at=world.clock.now)
    world.clock.advance(TERMS.stale_after + timedelta(seconds=1))
    holder = serving(world, worker_in(world, at=world.clock.now, gateway=world.gateway))
    assert "S01" in (holder.stores or ())
    holder.dispatcher.start_over()
    await world.send_due()
    sent = world.gateway.take()
    assert sorted(frame.label_id for frame in sent) == sorted(world.labels)

    # The late worker's pipeline thread wakes and follows its balance: S01, gained.
    late._balance_stores()
    assert_still_sent(world, by="the late worker's recovery")
    assert "S01" not in (late.stores or ()), "the late worker counts S01 as its own"
    assert "S01" not in (late.dispatcher.stores or ())
    # The holder's frames are lost on the way: its own timeout sends them again.
    await only_the_holders_timeout_sends_again(
        world, sent, due, ack_timeout=holder.dispatcher.policy.ack_timeout
    )
