"""A SetClock delivered late sets the label's clock behind by as much: a store gateway
held it for a label out of reach and delivered it five minutes after it was signed.

The label sets its clock to the instant the SetClock names (when the controller signed
it) and answers right then, so its answer reads that instant and arrives five minutes
after it. Counted as a label action's answer (which proves only a clock ahead), it left
the record saying the clock was right while it ran five minutes behind: the label,
holding a timed price, flipped five minutes late, and meanwhile the audit said `match`
("shows 2.49, due 2.49") on a shelf showing 3.49. Now a SetClock's acknowledgement is
judged against its arrival, as a check-in is: the clock is taken as behind by its lag,
the most it can be, and the audit waits that long for the flip. The controller and
dispatcher against simulated labels speaking the real protocol, SQLite, one test clock
for both sides (as tests/pipeline/test_label_clocks.py)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine

from esl.pipeline.action_kinds import ActionKind
from esl.services.label_actions import request_action
from gateways.base import Downlink
from tests.pipeline.in_memory_gateway import radio
from tests.pipeline.small_world import World
from tests.support.audit import audit_by_label
from tests.support.pipeline import ADMIN

_HELD_FOR = timedelta(minutes=5)


async def test_a_set_clock_delivered_late_is_not_taken_for_a_clock_set_right(
    engine: Engine,
) -> None:
    world = World.priced(engine, count=2)
    await world.converge()
    flip = world.publish_flip_ahead()  # 3.49 -> 2.49 in 50 minutes
    await world.converge()  # both labels hold the flip, their clocks right
    label_id = sorted(world.labels)[0]

    # Staff set the label's clock (right already); the SetClock is signed and sent, and
    # the store gateway holds it five minutes before the label takes it.
    with world.sessions.begin() as session:
        request_action(
            session,
            principal=ADMIN,
            label_id=label_id,
            kind=ActionKind.SET_CLOCK,
            now=world.clock.now,
        )
    held: list[Downlink] = []
    while not held:  # label actions are looked for every few hundred milliseconds
        world.clock.advance(timedelta(seconds=1))
        world.controller.plan_due_work()
        await world.send_due()
        held = world.gateway.take()
    assert [d.label_id for d in held] == [label_id]
    world.clock.advance(_HELD_FOR)
    world.dispatcher.settle(radio(held, world.labels, now=world.clock.now))
    label_clock_ms = world.labels[label_id].clock_offset_ms
    assert label_clock_ms <= -_HELD_FOR / timedelta(milliseconds=1)  # five minutes behind
    # From before the instant until well past the late flip, minute by minute: the audit
    # never calls the shelf right while its panel shows other than the due price.
    world.clock.now = flip - timedelta(minutes=1)
    assert await world.false_matches(label_id, until=flip + _HELD_FOR + timedelta(minutes=2)) == []
    # The record: the clock behind by the answer's lag behind its arrival, the most it can
    # be (the label's own lag, or more).
    recorded_ms = world.state(label_id).clock_offset_ms
    assert recorded_ms is not None
    assert recorded_ms <= label_clock_ms

    # The label flipped on its clock, late; panel, record and due agree.
    due = world.hash_of(label_id)
    assert world.panel_hash(label_id) == world.state(label_id).confirmed_hash == due
    assert audit_by_label(world.sessions, world.clock.now)[label_id].audit_class.value == "match"
