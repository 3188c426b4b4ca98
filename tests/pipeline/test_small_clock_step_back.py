"""A step back of the host clock by a second or two is no set-back.

NTP steps any offset over 128 ms (a VM resumed, a host a little fast), and two workers
on hosts a second apart take over each other's stores. The set-back rules (0e15a52:
a send or a last look later than now was by a clock since set back an hour) fired for
any step back, however small: a flash the label answered within a second read "no
answer from the label in time", its answer then dropped as a duplicate (keep-alive
pings so counted toward giving up), and every frame sent in the last seconds timed out
at once and was sent again, an attempt each. Only a stamp later than now by more than
`stamps_ahead.STAMPED_AHEAD_BEYOND` (2 minutes) is one of a clock since set back.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine

from esl.services.label_actions import ActionKind, request_action
from tests.pipeline.in_memory_gateway import radio
from tests.pipeline.small_world import PRICES_A, World
from tests.support.pipeline import ADMIN, publish_prices

NTP_STEP = timedelta(seconds=2)


@pytest.fixture
def world(engine: Engine) -> World:
    return World.priced(engine, count=1)


async def test_a_flash_answered_in_time_after_a_two_second_ntp_step_is_answered(
    world: World,
) -> None:
    await world.converge()
    label_id = sorted(world.labels)[0]
    world.clock.advance(timedelta(minutes=1))  # past the panel's refresh
    with world.sessions.begin() as session:
        action_id = request_action(
            session, principal=ADMIN, label_id=label_id, kind=ActionKind.FLASH, now=world.clock.now
        ).id
    await world.send_due()
    (frame,) = world.gateway.take()
    # NTP steps the host clock back two seconds; the controller's next round runs
    # (its label-action look included) before the label's answer comes in.
    world.clock.now -= NTP_STEP
    world.clock.advance(timedelta(milliseconds=500))
    await world.send_due()
    # The label's answer, one second after the send: far inside the answer timeout.
    world.dispatcher.settle(radio([frame], world.labels, now=world.clock.now))
    status, detail = world.action_outcome(action_id)
    assert status == "answered", (
        f"the flash the label answered within a second reads {status!r}: {detail!r}"
    )


async def test_a_two_second_ntp_step_sends_no_frame_in_flight_again(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    label_id = sorted(world.labels)[0]
    await world.converge()
    world.clock.advance(timedelta(minutes=1))
    publish_prices(world.sessions, {**PRICES_A, "MLK-1": "3.99"}, now=world.clock.now)
    world.controller.plan_due_work()
    await world.send_due()
    (frame,) = world.gateway.take()  # on its way: the label answers in a minute
    world.clock.now -= NTP_STEP
    resent = []
    for step in [timedelta(milliseconds=500)] + [timedelta(seconds=10)] * 6:
        world.clock.advance(step)  # the controller's rounds, the first at once
        await world.send_due()
        resent += [downlink.label_id for downlink in world.gateway.take()]
    assert resent == [], f"a frame in flight sent again after a {NTP_STEP} step: {resent}"
    assert "the clock went back" not in caplog.text  # no set-back: nothing to warn of
    world.dispatcher.settle(radio([frame], world.labels, now=world.clock.now))
    assert world.rows(label_id)[-1][1] == "acked"
    assert world.state(label_id).confirmed_hash == world.hash_of(label_id)
