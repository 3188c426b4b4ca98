"""Review (settlement): a label acknowledged a new price, its answer held at the store
gateway; then it was reset to factory (its count back at 0, the same key, a blank
panel) and checked in, blank, signed on its clock after that answer. The check-in is
heard first (older than the claim held by its sequence; an update open, so expected),
then the answer from before the reset, relayed late: believed as the label's newest
word by its sequence, though the label's own clock says the blank panel came after it.
The record confirms the new price, the audit says `match`, and the shelf is blank."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from sqlalchemy import Engine

from esl.audit.classify import AuditClass
from tests.pipeline.test_reset_label_given_an_old_frame import audit_class, reset_to_factory
from tests.support.answer_held import new_price_drawn_answer_held


async def test_a_blank_check_in_after_a_reset_outranks_the_answer_signed_before_it(
    engine: Engine,
) -> None:
    world, label_id, held = await new_price_drawn_answer_held(engine)
    assert held
    assert world.panel_hash(label_id) == world.hash_of(label_id)

    world.clock.advance(timedelta(seconds=30))
    reset_to_factory(world, label_id)  # count 0, blank panel
    world.clock.advance(timedelta(seconds=30))
    world.dispatcher.settle([world.check_in(label_id)])  # blank, signed after the answer
    world.clock.advance(timedelta(seconds=30))
    world.dispatcher.settle([replace(a, received_at=world.clock.now) for a in held])
    assert world.panel_hash(label_id) is None  # the shelf is blank
    # The controller heard the label's clock at the blank check-in, later than the answer:
    # the record must not say the new price is shown.
    assert audit_class(world, label_id) is not AuditClass.MATCH, (
        "the audit called a blank shelf right, on an answer signed before the label's "
        "blank check-in (it stays so until the label's next check-in or keep-alive ping)"
    )
