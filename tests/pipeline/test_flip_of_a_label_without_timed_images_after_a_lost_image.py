"""A label that cannot hold timed images (`can_schedule` false, learnt from its refusal,
`tests/pipeline/test_ordering_and_scheduling.py`) gets a change ahead as an immediate
frame sent from the instant on (`not_before`), held behind the image of now when it does
not show what is due now. When that image of now is lost and waits out its retry's
backoff at the instant, it is no longer due: it must be superseded at the next poll and
the flip released at once, as for a label holding a timed image
(`tests/pipeline/test_expired_promotion_retry.py`).

Found: `release_held_frames` looked only at held frames with a display-at, so such a
label's flip waited for the retry of an image no longer due (superseded when the
dispatcher weighed it at its send, up to the backoff later, ~40 s): the ended
promotion's price stayed on the shelf that long after its end.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, select, update

from esl.db.models import LabelStateRow, OutboxRow
from gateways.protocol import ImageUpdate, decode_frame
from tests.pipeline.in_memory_gateway import radio
from tests.pipeline.small_world import World
from tests.pipeline.test_expired_promotion_retry import _promotion_ending
from tests.support.database import engine_on_every_backend  # noqa: F401 - fixtures


@pytest.fixture
def world(engine: Engine) -> World:
    return World.priced(engine, count=1)


async def test_the_flip_goes_at_the_first_poll_past_the_instant(world: World) -> None:
    (label_id,) = world.labels
    await world.converge()  # 3.49
    regular = world.hash_of(label_id)
    with world.sessions.begin() as session:
        # What the controller learns from the label's refusal of a display-at field.
        session.execute(
            update(LabelStateRow)
            .where(LabelStateRow.label_id == label_id)
            .values(can_schedule=False)
        )
    _, ends = _promotion_ending(world, label_id, timedelta(minutes=2))
    world.controller.plan_due_work()
    await world.send_due()
    assert len(world.gateway.take()) == 1  # the promotion's image of now, lost
    with world.sessions() as session:
        flip = session.execute(
            select(OutboxRow.status, OutboxRow.display_at, OutboxRow.content_hash).where(
                OutboxRow.label_id == label_id, OutboxRow.status == "held"
            )
        ).one()
    assert (flip.display_at, flip.content_hash) == (None, regular)

    world.clock.now = ends + timedelta(seconds=30)
    world.dispatcher.step()  # its answer timed out: pending again, after a backoff
    assert world.gateway.take() == []
    world.controller.plan_due_work()
    await world.send_due()
    sent = world.gateway.take()
    commands = [
        decode_frame(d.payload, key=world.keys[label_id], label_id=label_id).command for d in sent
    ]
    assert [c.content_hash.hex() for c in commands if isinstance(c, ImageUpdate)] == [regular], (
        f"{world.clock.now - ends} after the end, the flip still waits: {world.rows(label_id)}"
    )
    world.dispatcher.settle(radio(sent, world.labels, now=world.clock.now))
    label = world.labels[label_id]
    label.synchronize(now=world.clock.now)
    assert label.shown_hash is not None
    assert label.shown_hash.hex() == regular
