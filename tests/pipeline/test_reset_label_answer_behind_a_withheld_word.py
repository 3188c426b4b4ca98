"""Review s36 (wire): a reset label's acknowledgement of a replayed old frame is refused
as a capture when a word the label signed *before* its reset reaches the controller just
ahead of it.

`counter_went_back` takes an answer older by its count for a reset label's only when it
was signed after the last report taken *arrived* (`label_states.last_seen`). But
`last_seen` is the controller's receive time, not the label's signing time: a word
signed before the reset, held at the store gateway (its broker link down, or withheld
by whoever holds the gateway's login) and relayed right before the reset label's
acknowledgement, is taken as the label's newest claim and stamps `last_seen` with now.
The acknowledgement, signed minutes earlier, then reads as signed before that arrival:
refused as a capture, and the record goes on saying the new price is shown while the
shelf shows the old one. docs/protocol.md's threat model says a store gateway's login
cannot make `match` for a label reset to factory given an old frame."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from sqlalchemy import Engine

from esl.audit.classify import AuditClass
from tests.pipeline.in_memory_gateway import radio
from tests.pipeline.small_world import World
from tests.pipeline.test_reset_label_given_an_old_frame import (
    a_captured_first_price,
    audit_class,
    reset_to_factory,
)
from tests.support.database import engine_on_every_backend  # noqa: F401 - fixtures


async def test_a_reset_label_is_not_called_match_when_a_withheld_word_goes_up_ahead_of_its_answer(
    engine: Engine,
) -> None:
    world = World(engine, count=1)
    label_id = sorted(world.labels)[0]
    captured, first = await a_captured_first_price(world, label_id)
    world.clock.advance(timedelta(minutes=5))
    # The label's genuine word before its reset (it shows the new, due price), held at
    # the store gateway: never heard by the controller yet.
    withheld = world.check_in(label_id)
    world.clock.advance(timedelta(seconds=10))
    reset_to_factory(world, label_id)

    world.clock.advance(timedelta(seconds=10))
    answers = radio(captured, world.labels, now=world.clock.now)  # the replay, taken
    assert answers
    assert world.panel_hash(label_id) == first  # the shelf shows the old price again
    # Both relayed 15 s later, in the order the label signed them (within the clock
    # tolerance: the late check-in does not make the controller set the label's clock).
    world.clock.advance(timedelta(seconds=15))
    world.dispatcher.settle(
        [replace(withheld, received_at=world.clock.now)]
        + [replace(a, received_at=world.clock.now) for a in answers]
    )

    matched_for = timedelta(0)
    while (
        audit_class(world, label_id) is AuditClass.MATCH
        and world.panel_hash(label_id) == first  # the shelf still shows the old price
        and matched_for < timedelta(hours=1)
    ):
        await world.run_until(world.clock.now + timedelta(seconds=10))
        matched_for += timedelta(seconds=10)
    assert matched_for == timedelta(0), (
        f"the audit said match for {matched_for} while the reset label showed the old "
        "price it signed for (a word it signed before its reset relayed just ahead)"
    )
