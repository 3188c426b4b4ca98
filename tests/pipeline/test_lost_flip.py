"""A label that lost the timed image it held (a battery swapped: the panel and the sequence
counter live in flash, the flip waiting for its instant in memory) is sent it again
before the instant, not found out after it.

Its check-in says so, signed: it shows the image of now it acknowledged, and its Basic
State flags no longer carry *pending display update*. Before, the controller read only
the image: the image of now, before the instant, was what it expected of a label holding
a flip, so it sent nothing; at the instant the shelf kept the old price while the record
said the new one was shown (health: up to date), until a check-in more than two minutes
after the instant disagreed and the label was planned again.

The controller and dispatcher against firmware_sim labels, SQLite, one test clock (as
tests/pipeline/test_label_clocks.py).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine

from rendering.encoding import content_hash
from tests.pipeline.small_world import World
from tests.support.pipeline import expected_planes


async def test_a_label_that_lost_its_flip_gets_it_again_before_the_instant(
    engine: Engine,
) -> None:
    world = World.priced(engine, count=2)
    await world.converge()
    swapped, steady = sorted(world.labels)

    flip = world.publish_flip_ahead()
    await world.converge()  # both labels hold the flip

    # Half an hour before the instant the battery of one label is swapped: it keeps its
    # image and its counter, and loses the flip it held.
    world.clock.now = flip - timedelta(minutes=30)
    label = world.labels[swapped]
    assert label.scheduled_page is not None
    label.scheduled_page = None
    label.scheduled_at_ms = 0
    world.dispatcher.settle([world.check_in(swapped), world.check_in(steady)])
    await world.converge()

    # Just after the instant (before any check-in could tell), both show the new price,
    # as the record says.
    world.clock.now = flip + timedelta(seconds=30)
    with world.sessions() as session:
        due_then = expected_planes(session, label_id=swapped, sku="MLK-1", at=world.clock.now)
    for label_id, each in world.labels.items():
        each.state(now=world.clock.now)
        assert each.shown == due_then, f"{label_id} still shows the price before the instant"
        assert world.state(label_id).confirmed_hash == content_hash(due_then).hex()
