"""The dispatcher's own deadlines after the host clock was set back (NTP correcting a
clock an hour fast).

The answer timeout of a frame in flight and the backoff of a frame waiting to be sent
again are instants of the controller's clock, the wall clock on a real host. Before, a
frame sent, or given a retry delay, before the clock was set back an hour waited that
hour on top of its timeout or delay: the label went without its update for an hour
(`esl/pipeline/periodic.py` had the same fault for the periodic steps).
"""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from sqlalchemy import Engine

from esl.pipeline.action_kinds import ActionKind
from esl.pipeline.label_actions import request_own_actions
from esl.pipeline.retry import RetryPolicy
from tests.pipeline.small_world import PRICES_A, World
from tests.support.pipeline import publish_prices

SET_BACK = timedelta(hours=1)


@pytest.fixture
def world(engine: Engine) -> World:
    return World.priced(engine, count=1)


async def _a_frame_lost_on_its_way(world: World) -> str:
    """A price change (due from before the clock ran fast) whose frame is sent, an hour
    and more after, and never reaches the label; its label."""
    label_id = sorted(world.labels)[0]
    await world.converge()
    world.clock.advance(timedelta(minutes=1))
    publish_prices(world.sessions, {**PRICES_A, "MLK-1": "3.99"}, now=world.clock.now)
    world.clock.advance(2 * SET_BACK)
    world.controller.plan_due_work()
    await world.send_due()
    assert [frame.label_id for frame in world.gateway.take()] == [label_id]  # lost
    return label_id


async def test_a_frame_in_flight_when_the_clock_was_set_back_is_sent_again_after_its_timeout(
    world: World,
) -> None:
    label_id = await _a_frame_lost_on_its_way(world)
    timeout = world.dispatcher.policy.ack_timeout
    world.clock.advance(timedelta(seconds=10))
    world.clock.now -= SET_BACK
    # One timeout and the longest retry delay later by the corrected clock, not an hour.
    world.clock.advance(timeout + timedelta(seconds=1))
    await world.send_due()  # the timeout: pending again after its backoff
    world.clock.advance(world.dispatcher.policy.longest_delay)
    await world.send_due()
    assert [frame.label_id for frame in world.gateway.take()] == [label_id], (
        "the frame sent before the clock was set back waits an hour more than its timeout"
    )
    await world.converge()
    assert world.state(label_id).confirmed_hash == world.hash_of(label_id)


async def test_a_frame_planned_before_the_clock_was_set_back_is_sent_at_once(
    world: World,
) -> None:
    label_id = sorted(world.labels)[0]
    await world.converge()
    world.clock.advance(timedelta(minutes=1))
    publish_prices(world.sessions, {**PRICES_A, "MLK-1": "3.99"}, now=world.clock.now)
    world.clock.advance(2 * SET_BACK)
    await world.send_due()  # the controller's rounds run on the fast clock
    world.controller.plan_due_work()  # due now, sent at the next round
    world.clock.now -= SET_BACK
    await world.send_due()
    assert [frame.label_id for frame in world.gateway.take()] == [label_id], (
        "the frame planned just before the clock was set back waits an hour"
    )


async def test_a_frame_waiting_out_its_retry_delay_when_the_clock_was_set_back_is_sent_again(
    world: World,
) -> None:
    label_id = await _a_frame_lost_on_its_way(world)
    world.clock.advance(world.dispatcher.policy.ack_timeout + timedelta(seconds=1))
    await world.send_due()  # timed out: waits its retry delay
    assert world.gateway.take() == []
    assert [status for _, status in world.rows(label_id)][-1] == "pending"
    world.clock.now -= SET_BACK
    world.clock.advance(world.dispatcher.policy.longest_delay)
    await world.send_due()
    assert [frame.label_id for frame in world.gateway.take()] == [label_id], (
        "the retry delay given before the clock was set back lasts an hour more"
    )


async def test_a_frame_is_not_timed_out_before_its_timeout_after_the_clock_was_set_back(
    world: World,
) -> None:
    """A frame sent after the set-back waits its full timeout, as any."""
    label_id = sorted(world.labels)[0]
    await world.converge()
    world.clock.advance(2 * SET_BACK)
    world.clock.now -= SET_BACK
    await world.send_due()  # the round that sees the clock go back
    publish_prices(world.sessions, {**PRICES_A, "MLK-1": "3.99"}, now=world.clock.now)
    world.controller.plan_due_work()
    await world.send_due()
    assert [frame.label_id for frame in world.gateway.take()] == [label_id]
    world.clock.advance(world.dispatcher.policy.ack_timeout - timedelta(seconds=1))
    await world.send_due()
    assert [status for _, status in world.rows(label_id)][-1] == "sent"


def test_the_longest_delay_bounds_every_retry_delay() -> None:
    policy = RetryPolicy()
    rng = random.Random(1)
    delays = [
        policy.delay_after(attempts, rng=rng, busy=busy)
        for attempts in range(1, 40)
        for busy in (False, True)
        for _ in range(20)
    ]
    assert max(delays) <= policy.longest_delay


async def test_a_label_action_asked_after_the_clock_was_set_back_is_sent(world: World) -> None:
    """The look for label actions (a ping, a flash, the controller's SetClock) is timed
    on the clock too: before, none was sent for the hour the clock was set back."""
    label_id = sorted(world.labels)[0]
    await world.converge()
    world.clock.advance(2 * SET_BACK)
    await world.send_due()  # the controller's rounds run on the fast clock
    world.clock.now -= SET_BACK
    with world.sessions.begin() as session:
        request_own_actions(session, [label_id], ActionKind.PING, now=world.clock.now)
    world.clock.advance(timedelta(seconds=1))
    await world.send_due()
    assert [frame.label_id for frame in world.gateway.take()] == [label_id], (
        "the ping asked after the clock was set back waits an hour"
    )
