"""The reverse of `test_reset_label_relayed_behind_its_last_check_in_in_one_batch`: a
label reset to factory (count back at 0, a blank panel, its clock restarted behind) is
heard live checking in showing nothing, and its last check-in from before the reset
(3.49, believed: the claim held, a later clock) comes behind it in the same batch (a
gateway's backlog relayed after its live uplinks). "A believed check-in clears an older
one heard before it in the batch" dropped the post-reset check-in: the record kept 3.49
as shown and the audit said `match` while the shelf was blank. An older check-in heard
before a believed word is dropped only when it shows that word's panel or the record's
confirmed image (weighed, it would change nothing), as in the other direction."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine

from esl.audit.classify import AuditClass
from tests.pipeline.small_world import World
from tests.pipeline.test_reset_label_given_an_old_frame import audit_class, reset_to_factory


async def test_a_reset_label_relayed_ahead_of_its_last_check_in_is_not_called_match(
    engine: Engine,
) -> None:
    world = World.priced(engine, count=1)
    await world.converge()
    (label_id,) = world.labels
    due = world.hash_of(label_id)
    assert world.panel_hash(label_id) == due
    assert audit_class(world, label_id) is AuditClass.MATCH

    world.clock.advance(timedelta(minutes=5))
    before = world.check_in(label_id)  # 3.49, the claim held, its clock now
    world.clock.advance(timedelta(minutes=1))
    reset_to_factory(world, label_id)
    # A factory reset restarts its clock too: it reads an hour behind until set.
    world.labels[label_id].clock_offset_ms = -3_600_000
    world.clock.advance(timedelta(seconds=30))
    after = world.check_in(label_id)  # blank, sequence 0
    assert world.panel_hash(label_id) is None  # the shelf is blank

    world.clock.advance(timedelta(minutes=2))
    # Heard live first, the backlog with the check-in before the reset behind it.
    world.dispatcher.settle([after, before])

    state = world.state(label_id)
    verdict = audit_class(world, label_id)
    assert verdict is not AuditClass.MATCH, (
        f"audit {verdict.value} while the reset label's panel is blank "
        f"(record: displayed {str(state.displayed_hash)[:12]}, confirmed "
        f"{str(state.confirmed_hash)[:12]}, claim {state.claim_sequence})"
    )
    # And it is put right: the due image goes out and the label draws it.
    await world.run_until(world.clock.now + timedelta(minutes=2))
    assert world.panel_hash(label_id) == due
