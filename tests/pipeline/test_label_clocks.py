"""A label flips a timed image on its own clock: the controller keeps that clock right.

A label whose clock runs ahead (drift, or set wrong by an access point) would flip a
price change early, while the till still charges the price of now. Its signed check-in,
as any answer it gives, carries its clock, so the controller sets it (a signed SetClock,
a label action of the controller's) and puts the price of now back on its panel; the
change then comes at its instant. The controller and dispatcher against simulated
labels speaking the real protocol, SQLite, one test clock for both sides (as
tests/pipeline/test_held_frames.py).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, select

from esl.db.console_models import LabelActionRow
from esl.pipeline.label_clocks import ASK_AGAIN_AFTER, CLOCK_TOLERANCE
from rendering.encoding import content_hash
from tests.pipeline.small_world import World
from tests.support.pipeline import expected_planes


async def test_a_label_whose_clock_runs_ahead_is_set_right_and_flips_at_the_instant(
    engine: Engine,
) -> None:
    world = World.priced(engine, count=2)
    await world.converge()
    fast, steady = sorted(world.labels)

    flip = world.publish_flip_ahead()
    await world.converge()  # both labels hold the flip
    # Then the fast one's clock jumps 30 minutes ahead, its held flip with it (an answer
    # showing it off before then would have had it set at once: test_wire_clock_*).
    ahead_ms = 30 * 60 * 1000
    world.labels[fast].clock_offset_ms += ahead_ms
    world.labels[fast].scheduled_at_ms -= ahead_ms

    # 25 minutes before the instant the fast label has flipped on its own clock; both
    # check in, the fast one with its clock 30 minutes ahead of the arrival.
    world.clock.now = flip - timedelta(minutes=25)
    for label in world.labels.values():
        label.state(now=world.clock.now)
    with world.sessions() as session:
        due_now = expected_planes(session, label_id=fast, sku="MLK-1", at=world.clock.now)
    assert world.labels[fast].shown != due_now  # the early flip this test is about
    world.dispatcher.settle([world.check_in(fast), world.check_in(steady)])
    await world.converge()

    for label in world.labels.values():
        label.state(now=world.clock.now)
    assert world.labels[fast].shown == world.labels[steady].shown == due_now
    # The record: the price of now on the panel, the change held for its instant again.
    state = world.state(fast)
    assert state.displayed_hash == content_hash(due_now).hex()
    assert state.desired_display_at == flip
    assert abs(world.labels[fast].clock_offset_ms) < CLOCK_TOLERANCE.total_seconds() * 1000
    with world.sessions() as session:
        actions = session.scalars(select(LabelActionRow)).all()
    assert [(a.label_id, a.action, a.status, a.requested_by) for a in actions] == [
        (fast, "set_clock", "answered", "controller")
    ]

    # The change comes at its instant on both, on clocks that agree now.
    world.clock.now = flip + timedelta(seconds=30)
    for label in world.labels.values():
        label.state(now=world.clock.now)
    await world.converge()
    with world.sessions() as session:
        due_then = expected_planes(session, label_id=fast, sku="MLK-1", at=world.clock.now)
    assert due_then != due_now
    assert world.labels[fast].shown == world.labels[steady].shown == due_then
    assert world.state(fast).confirmed_hash == content_hash(due_then).hex()


async def test_a_clock_that_will_not_be_set_is_asked_again_only_after_an_hour(
    engine: Engine,
) -> None:
    # Each SetClock takes one of the label's sequence numbers: a label whose clock does
    # not take it (nothing sends it here) gets no second one at every check-in.
    world = World.priced(engine, count=1)
    await world.converge()
    (label_id,) = world.labels
    world.labels[label_id].clock_offset_ms = 10 * 60 * 1000
    start = world.clock.now
    asked = []
    minute = timedelta(minutes=1)
    for after in (0 * minute, 5 * minute, ASK_AGAIN_AFTER - minute, ASK_AGAIN_AFTER + minute):
        world.clock.now = start + after
        world.dispatcher.settle([world.check_in(label_id)])
        with world.sessions() as session:
            asked.append(len(session.scalars(select(LabelActionRow)).all()))
    assert asked == [1, 1, 1, 2]
