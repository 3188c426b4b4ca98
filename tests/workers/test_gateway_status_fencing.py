"""A worker that stalled past its leases must not apply, on waking, what it heard of its
store's gateways to a store its new holder serves.

A worker hears each store it holds on a persistent MQTT session of its own: what the
store's gateways said while it stalled (a gateway's last will, its return) waits at the
broker and reaches the worker when it wakes, still counting the store as its own. Its
gateway records (`Dispatcher._gateway_status`) were the one write of a store not fenced
by its lease. A gateway that had restarted meanwhile came "back online" for it: it put
the frames it had had in flight back to `pending`, while those rows were the frames the
new holder had sent again and waited the answers of (the record said unsent while they
were on their way; their answers lost, the holder, its window idle, never sent them
again, and the labels kept the old price). A gateway state heard before the stall was
recorded over the newer one the holder had recorded: a gateway back online stayed
offline in the record, and `esl health` and the audit called its labels offline. Now
the record commits only under the fence of its store, as every other write: the stale
worker's status rolls back and the store is dropped at once.

Real parts: PostgreSQL, two worker controllers, the firmware_sim labels, one test clock.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine

from esl.db.models import GatewayStateRow
from esl.services.health import label_health
from gateways.base import GatewayState, GatewayStatus
from tests.pipeline.small_world import World
from tests.workers.world_workers import (
    assert_still_sent,
    only_the_holders_timeout_sends_again,
    price_change_sent_again,
    serving,
    taken_over,
    worker_with_prices,
)

pytestmark = pytest.mark.integration


def _gw1(state: GatewayState, world: World) -> GatewayStatus:
    return GatewayStatus("S01", "gw1", state, received_at=world.clock.now)


async def test_a_gateway_back_online_puts_back_no_frame_the_new_holder_sent_again(
    engine: Engine,
) -> None:
    world = World(engine, count=2)
    stale, holder, due, sent = await price_change_sent_again(world)
    # gw1 restarted while the stale worker stalled, before the takeover: its last will
    # and its return waited at the broker for the stale worker's session of S01; the
    # holder's new session heard only the retained "online", and recorded it.
    holder.dispatcher.handle_event(_gw1(GatewayState.ONLINE, world))
    await world.send_due()
    assert not world.gateway.take()
    for state in (GatewayState.OFFLINE, GatewayState.ONLINE):
        stale.dispatcher.handle_event(_gw1(state, world))

    # The stale worker wakes: its round comes before the holder hears the answers.
    assert not stale.dispatcher.work()
    assert_still_sent(world, by="the stale worker's gateway back online")
    assert "S01" not in (stale.stores or ()), "the stale worker still counts S01 as its own"
    # The holder's frames are lost on the way: its own timeout sends them again.
    await only_the_holders_timeout_sends_again(
        world, sent, due, ack_timeout=holder.dispatcher.policy.ack_timeout
    )


async def test_a_stalled_worker_records_no_gateway_state_older_than_the_holders(
    engine: Engine,
) -> None:
    world = World(engine, count=2)
    stale = await worker_with_prices(world)
    # gw1's last will reaches the stale worker as it stalls: heard, not recorded yet.
    stale.dispatcher.handle_event(_gw1(GatewayState.OFFLINE, world))
    holder = serving(world, taken_over(world, stale))
    # gw1 is back by the takeover: the holder's session hears it online (retained).
    holder.dispatcher.handle_event(_gw1(GatewayState.ONLINE, world))
    await world.send_due()

    # The stale worker wakes and records what it heard.
    world.clock.advance(timedelta(seconds=5))
    assert not stale.dispatcher.work()
    with world.sessions() as session:
        record = session.get(GatewayStateRow, ("S01", "gw1"))
        assert record is not None
        assert record.online, "gw1, back online, is recorded offline"
        (health,) = label_health(session, now=world.clock.now, stores=["S01"])
    assert health.offline == 0, f"health counts {health.offline} labels offline"
    assert "S01" not in (stale.stores or ()), "the stale worker still counts S01 as its own"
