"""An acknowledgement refused as older than a claim held still settles its frame, but it
says nothing of the panel now. A label drew a new price and acknowledged it (the answer
held up at its gateway), then lost its panel keeping its count, and checked in blank: the
record took the blank panel (its newest word) and forgot what it confirmed. The held
acknowledgement, relayed after that, is older than the check-in; settling its frame, the
record confirmed the new price again, and with no panel known the audit fell back on that
confirmation: `match` on a blank shelf, until the repair was drawn."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from sqlalchemy import Engine

from esl.audit.classify import AuditClass
from firmware_sim.images import ImageStore
from tests.pipeline.test_reset_label_given_an_old_frame import audit_class
from tests.support.answer_held import new_price_drawn_answer_held


async def test_an_acknowledgement_older_than_a_blank_check_in_does_not_confirm_its_price(
    engine: Engine,
) -> None:
    world, label_id, held = await new_price_drawn_answer_held(engine)
    assert held
    assert world.panel_hash(label_id) == world.hash_of(label_id)

    world.clock.advance(timedelta(seconds=10))
    # The panel and stored images lost, the count kept; its blank check-in is believed.
    world.restore(label_id, (world.labels[label_id].snapshot(), ImageStore()))
    world.dispatcher.settle([world.check_in(label_id)])
    assert world.state(label_id).displayed_hash is None
    world.clock.advance(timedelta(seconds=5))
    world.dispatcher.settle([replace(a, received_at=world.clock.now) for a in held])
    assert world.rows(label_id)[-1][1] == "acked"  # the frame is settled all the same
    assert world.panel_hash(label_id) is None
    assert audit_class(world, label_id) is not AuditClass.MATCH, (
        "a refused acknowledgement confirmed the new price on a blank shelf"
    )
    assert world.state(label_id).confirmed_hash != world.hash_of(label_id)

    await world.converge()  # the repair planned by the blank check-in, drawn
    assert world.panel_hash(label_id) == world.hash_of(label_id)
    assert audit_class(world, label_id) is AuditClass.MATCH
