"""An answer ranked above the claim held by its sequence, but signed before a word of the
label already heard on another panel, is weighed as an older check-in: never `match` on
the word of a label reset since, and no longer than one frame for a label whose clock was
set back (docs/protocol.md, "Newer than every claim already held")."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from sqlalchemy import Engine

from esl.audit.classify import AuditClass
from tests.pipeline.in_memory_gateway import radio
from tests.pipeline.small_world import PRICES_A, World
from tests.pipeline.test_reset_label_given_an_old_frame import audit_class, reset_to_factory
from tests.support.answer_held import new_price_drawn_answer_held
from tests.support.pipeline import publish_prices


async def test_a_reset_label_whose_pre_reset_answer_came_late_gets_its_price_in_one_frame(
    engine: Engine,
) -> None:
    world, label_id, held = await new_price_drawn_answer_held(engine)
    world.clock.advance(timedelta(seconds=30))
    reset_to_factory(world, label_id)
    world.clock.advance(timedelta(seconds=30))
    world.dispatcher.settle([world.check_in(label_id)])
    world.clock.advance(timedelta(seconds=30))
    refused_before = dict(world.dispatcher.counts.refused_answers)
    world.dispatcher.settle([replace(a, received_at=world.clock.now) for a in held])

    state = world.state(label_id)
    assert world.rows(label_id)[-1][1] == "acked"  # the frame was taken, before the reset
    assert state.displayed_hash is None  # forgotten
    assert state.confirmed_hash is None
    assert audit_class(world, label_id) in (AuditClass.UNCONFIRMED, AuditClass.UNKNOWN_CONTENT)
    refused = world.dispatcher.counts.refused_answers
    assert refused.get("BEFORE_LATER_WORD", 0) == refused_before.get("BEFORE_LATER_WORD", 0) + 1

    # Planned again at once: the due image in full, one frame, taken above the count 0.
    opened = len(world.rows(label_id))
    await world.run_until(world.clock.now + timedelta(minutes=2))
    assert len(world.rows(label_id)) == opened + 1
    assert world.panel_hash(label_id) == world.hash_of(label_id)
    assert audit_class(world, label_id) is AuditClass.MATCH
    assert world.state(label_id).later_word_label_time is None  # passed by the new frame's


async def test_a_label_whose_clock_was_set_back_is_believed_from_the_first_frame_signed_after(
    engine: Engine,
) -> None:
    """A check-in signed while the label's clock ran 10 minutes fast, relayed late, after
    its clock was set right and it took a new price: older by its count, later by its
    clock, on the panel before. The label's answers signed in the next 10 minutes read
    earlier than it; the first frame the controller signs after hearing it is believed,
    not every one of them refused until the clock passes that reading."""
    world = await World.showing(engine, PRICES_A, count=1)
    label_id = sorted(world.labels)[0]
    label = world.labels[label_id]
    world.clock.advance(timedelta(minutes=5))
    label.clock_offset_ms = 10 * 60 * 1000
    fast = world.check_in(label_id)  # held at a gateway
    label.clock_offset_ms = 0  # set right (NTP on a stand-in gateway's host)

    world.clock.advance(timedelta(seconds=30))
    publish_prices(world.sessions, {"MLK-1": "2.99"}, now=world.clock.now)
    world.controller.plan_due_work()
    await world.send_due()
    world.dispatcher.settle(radio(world.gateway.take(), world.labels, now=world.clock.now))
    assert audit_class(world, label_id) is AuditClass.MATCH

    world.clock.advance(timedelta(seconds=30))
    world.dispatcher.settle([replace(fast, received_at=world.clock.now)])  # relayed late
    assert world.state(label_id).later_word_label_time is not None
    opened = len(world.rows(label_id))
    refused = dict(world.dispatcher.counts.refused_answers)
    await world.run_until(world.clock.now + timedelta(minutes=3))
    # At most the one frame its late check-in costs; every answer since believed.
    assert len(world.rows(label_id)) <= opened + 1
    assert world.dispatcher.counts.refused_answers.get("BEFORE_LATER_WORD", 0) == refused.get(
        "BEFORE_LATER_WORD", 0
    )
    assert world.panel_hash(label_id) == world.hash_of(label_id)
    assert audit_class(world, label_id) is AuditClass.MATCH
    world.clock.advance(timedelta(seconds=30))
    world.dispatcher.settle([world.check_in(label_id)])  # its next check-in, believed
    assert audit_class(world, label_id) is AuditClass.MATCH
    assert world.state(label_id).displayed_hash == world.hash_of(label_id)
