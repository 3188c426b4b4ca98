"""Review of 4437f09: a label reset to factory (count back at 0, a blank panel,
its clock restarted behind) while its store gateway's broker link was down. On
reconnecting the gateway relays its backlog in order: the label's last check-in from
before the reset (3.49, believed: same sequence, later clock) and its check-in after it
(blank, sequence 0). Settled one at a time the second is weighed as older: the record
forgets what the label shows and the due image is sent in full. Settled in one batch,
4437f09 skips it as "older by sequence and clock than a word believed in this batch":
the record keeps 3.49 as shown and the audit says `match` while the shelf is blank."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine

from esl.audit.classify import AuditClass
from tests.pipeline.small_world import World
from tests.pipeline.test_reset_label_given_an_old_frame import audit_class, reset_to_factory


@pytest.mark.parametrize("one_batch", [False, True], ids=["one-at-a-time", "one-batch"])
async def test_a_reset_label_relayed_behind_its_last_check_in_is_not_called_match(
    engine: Engine, one_batch: bool
) -> None:
    world = World.priced(engine, count=1)
    await world.converge()
    (label_id,) = world.labels
    due = world.hash_of(label_id)
    assert world.panel_hash(label_id) == due
    assert audit_class(world, label_id) is AuditClass.MATCH

    # The gateway's broker link goes down: what the label says is kept at the gateway.
    world.clock.advance(timedelta(minutes=5))
    before = world.check_in(label_id)  # 3.49, sequence 1, its clock now
    world.clock.advance(timedelta(minutes=1))
    reset_to_factory(world, label_id)
    # A factory reset restarts its clock too: it reads an hour behind until set.
    world.labels[label_id].clock_offset_ms = -3_600_000
    world.clock.advance(timedelta(seconds=30))
    after = world.check_in(label_id)  # blank, sequence 0
    assert world.panel_hash(label_id) is None  # the shelf is blank

    world.clock.advance(timedelta(minutes=2))  # the link is back: the backlog, in order
    if one_batch:
        world.dispatcher.settle([before, after])
    else:
        world.dispatcher.settle([before])
        world.dispatcher.settle([after])

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
