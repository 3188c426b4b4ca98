"""A captured answer signed while the label's clock ran fast, replayed after the controller
set that clock right, is "signed after the claim held" by the label's clock though it is
an old capture. Taken for a reset label's answer (`counter_went_back`, 8f172a6), it made
the record forget a correct panel (the audit no longer `match`) and sent a frame, where
docs/protocol.md promises a capture of an answer is refused at no cost. Replayed once the
label's clock, set right, reads again what it read when it signed it, the capture is
signed "now" by that clock and after the last report arrived: only the latest clock
reading heard from the label (`label_states.latest_label_time`) tells it."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import Engine

from esl.audit.classify import AuditClass
from tests.pipeline.in_memory_gateway import radio
from tests.pipeline.small_world import World
from tests.support.audit import audit_by_label
from tests.support.pipeline import publish_prices


def audit_class(world: World, label_id: str) -> AuditClass:
    return audit_by_label(world.sessions, world.clock.now)[label_id].audit_class


# Replayed two minutes on (the reviewer's case), and once the label's clock, set right,
# reads what it read when it signed the capture: then signed "now" by it, and after the
# last report taken arrived, only the latest clock reading heard tells it for a capture.
@pytest.mark.parametrize("replayed_after", [timedelta(minutes=2), timedelta(minutes=9)])
async def test_a_replayed_answer_signed_on_a_fast_clock_since_set_right_costs_nothing(
    engine: Engine, replayed_after: timedelta
) -> None:
    world = World.priced(engine, count=1)
    await world.converge()
    (label_id,) = world.labels
    # The label's clock drifted 10 minutes ahead (no timed image held: nothing flips).
    world.labels[label_id].clock_offset_ms += 10 * 60 * 1000
    world.clock.advance(timedelta(minutes=1))  # its refresh done

    # 2.99 is sent; the label's genuine answer, signed on its fast clock, is captured on
    # the store's up topic (a gateway login keeps a copy) and delivered.
    publish_prices(world.sessions, {"MLK-1": "2.99"}, now=world.clock.now)
    world.controller.plan_due_work()
    await world.send_due()
    captured = radio(world.gateway.take(), world.labels, now=world.clock.now)
    assert captured
    world.dispatcher.settle(captured)
    await world.run_until(world.clock.now + timedelta(minutes=1))  # the SetClock
    assert abs(world.labels[label_id].clock_offset_ms) < 60_000  # set right

    # A minute later 2.79 is sent and confirmed, on the label's right clock.
    world.clock.advance(timedelta(minutes=1))
    publish_prices(world.sessions, {"MLK-1": "2.79"}, now=world.clock.now)
    await world.converge()
    assert world.panel_hash(label_id) == world.hash_of(label_id)
    assert audit_class(world, label_id) is AuditClass.MATCH
    opened = len(world.rows(label_id))

    # Later, the captured 2.99 answer is published again: a replay.
    world.clock.advance(replayed_after)
    world.dispatcher.settle([replace(c, received_at=world.clock.now) for c in captured])

    # The shelf shows 2.79, due and recorded: the replay must change nothing.
    assert world.panel_hash(label_id) == world.hash_of(label_id)
    assert world.state(label_id).confirmed_hash == world.hash_of(label_id), (
        "a replayed capture made the record forget a correct panel"
    )
    assert audit_class(world, label_id) is AuditClass.MATCH
    await world.run_until(world.clock.now + timedelta(minutes=2))
    assert len(world.rows(label_id)) == opened, "a replay cost a frame"
