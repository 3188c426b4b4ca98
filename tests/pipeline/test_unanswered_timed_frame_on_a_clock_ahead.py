"""A timed frame sent and not answered counts, in the audit, from the instant the label's
clock reaches, as the controller knows that clock (`label_states.clock_offset_ms`).

docs/audit.md: a label flips on its own clock (one ten minutes ahead is `stale`, showing
the next price, for the ten minutes before), and a frame sent since the newest believed
answer whose instant has come makes a label that last reported the due image not
`match`. A change published 12 minutes ahead: the label, its clock 10 minutes ahead
(known once the timed frame is on its way), takes the timed frame, its answers and its
SetClock are lost, and 9 minutes before the instant it has flipped to the next price
(2.49) while the till charges 3.49; the controller is still resending. Before the label's
clock reaches the instant it shows the price of now, and the audit says `match`.
Simulated label, the real controller and dispatcher, one test clock.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine

from gateways.protocol.commands import SetClock
from gateways.protocol.frames import peek_command
from tests.pipeline.in_memory_gateway import radio
from tests.pipeline.small_world import World
from tests.support.audit import audit_by_label

AHEAD = timedelta(minutes=10)


async def test_an_unanswered_timed_frame_on_a_clock_known_ahead_is_no_match(
    engine: Engine,
) -> None:
    world = await World.showing(engine, {"MLK-1": "3.49"}, count=1)
    (label_id,) = world.labels
    label = world.labels[label_id]
    # 2.49 from 12 minutes ahead (a publication made shortly before its instant).
    flip = world.publish_flip_with_clock_off(label_id, AHEAD, ahead=timedelta(minutes=12))
    # The controller's rounds go on; every frame reaches the label (the timed image, its
    # resends), but none of its answers comes back (a lost uplink), and its SetClock is
    # not among what it took (lost on the way).
    started = world.clock.now
    while world.clock.now < started + timedelta(minutes=3):
        world.clock.advance(timedelta(seconds=30))
        world.controller.plan_due_work()
        await world.send_due()
        # Answers lost, and the SetClock with them.
        taken = [
            d for d in world.gateway.take() if not isinstance(peek_command(d.payload), SetClock)
        ]
        radio(taken, world.labels, now=world.clock.now)
        if world.clock.now == started + timedelta(seconds=30):
            # Once the timed frame is on its way (a label whose clock is known ahead is
            # sent the change at its instant instead), a check-in tells the controller
            # the label's clock is ten minutes ahead.
            world.dispatcher.settle([world.check_in(label_id)])
            offset = world.state(label_id).clock_offset_ms
            assert offset == AHEAD // timedelta(milliseconds=1), offset
        if world.clock.now + AHEAD < flip:
            # Its clock short of the instant: it shows the price of now, as the till.
            assert world.panel_hash(label_id) == world.hash_of(label_id)
            verdict = audit_by_label(world.sessions, world.clock.now)[label_id]
            assert verdict.audit_class.value == "match", verdict.reason
    assert label.clock_offset_ms == AHEAD // timedelta(milliseconds=1)  # still ahead
    state = world.state(label_id)
    assert state.claim_sequence is not None
    assert state.claim_sequence < state.last_sequence

    # Nine minutes before the instant on the controller's clock, one minute after it on
    # the label's: the label has flipped to 2.49; the till charges 3.49 for nine minutes.
    assert flip - world.clock.now == timedelta(minutes=9)
    panel = world.panel_hash(label_id)
    due = world.hash_of(label_id)
    assert panel != due, "the panel already shows 2.49; the till charges 3.49"
    verdict = audit_by_label(world.sessions, world.clock.now)[label_id]
    assert verdict.audit_class.value != "match", (
        f"the audit says match ({verdict.reason}; update {verdict.last_reason}, "
        f"{verdict.attempts} attempt(s)) while the panel shows the next price"
    )
    assert verdict.audit_class.value == "unconfirmed", verdict.reason
