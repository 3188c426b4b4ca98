"""The timed image waits for the image of now, and is signed again when the image of now
had to be rebuilt with a newer sequence number (the dispatcher's own code, simulated
labels speaking the real protocol, one clock)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine

from tests.pipeline.in_memory_gateway import radio
from tests.pipeline.small_world import World
from tests.support.pipeline import expected_planes, publish_prices


@pytest.fixture
def world(engine: Engine) -> World:
    return World.priced(engine)


async def _exchange(world: World) -> list[str]:
    """Plan, send what is due, let the labels answer; the labels that got a frame. Then
    time passes for their panels to finish refreshing."""
    world.controller.plan_due_work()
    await world.send_due()
    frames = world.gateway.take()
    world.dispatcher.settle(radio(frames, world.labels, now=world.clock.now))
    world.clock.advance(timedelta(seconds=30))
    return sorted(frame.label_id for frame in frames)


async def test_the_timed_image_follows_the_image_of_now_even_when_that_was_rebuilt(
    world: World,
) -> None:
    await _exchange(world)
    reset, steady = sorted(world.labels)
    world.clock.advance(timedelta(minutes=1))
    # The first label lost its image (a reset): it cannot apply a delta any more.
    world.labels[reset].shown = world.labels[reset].shown_hash = None

    publish_prices(world.sessions, {"MLK-1": "2.99"}, now=world.clock.now)
    flip = world.clock.now + timedelta(minutes=50)
    publish_prices(world.sessions, {"MLK-1": "2.49"}, now=world.clock.now, effective_at=flip)
    world.controller.plan_due_work()
    # The immediate change was superseded by the pair: the image of now, the timed one held.
    assert world.rows(reset) == [(1, "acked"), (2, "superseded"), (3, "pending"), (4, "held")]

    assert await _exchange(world) == [reset, steady]  # the images of now only
    # The reset label wants a full image (sequence 5); the other one holds the price now.
    assert world.rows(reset)[2:] == [(3, "superseded"), (4, "held"), (5, "pending")]
    assert await _exchange(world) == [reset, steady]  # the full image, and steady's timed one
    assert world.rows(steady)[-1] == (4, "acked")
    assert await _exchange(world) == [reset]
    # Signed again after the rebuilt frame: a label takes only increasing sequences.
    assert world.rows(reset)[-2:] == [(5, "acked"), (6, "acked")]

    with world.sessions() as session:
        now_planes = expected_planes(session, label_id=reset, sku="MLK-1", at=world.clock.now)
        flip_planes = expected_planes(session, label_id=reset, sku="MLK-1", at=flip)
    for label_id in (reset, steady):
        label = world.labels[label_id]
        label.state(now=flip - timedelta(seconds=1))
        assert label.shown == now_planes
        assert label.scheduled_page is not None
        label.state(now=flip + timedelta(seconds=1))
        assert label.shown == flip_planes


async def test_two_changes_ahead_each_flip_the_shelf_at_their_instant(world: World) -> None:
    await _exchange(world)
    first = world.clock.now + timedelta(minutes=30)
    second = world.clock.now + timedelta(minutes=60)
    publish_prices(world.sessions, {"MLK-1": "2.99"}, now=world.clock.now, effective_at=first)
    publish_prices(world.sessions, {"MLK-1": "2.49"}, now=world.clock.now, effective_at=second)
    await _exchange(world)  # a label holds one timed image: the earliest
    with world.sessions() as session:
        label_id = sorted(world.labels)[0]
        due = {
            at: expected_planes(session, label_id=label_id, sku="MLK-1", at=at)
            for at in (world.clock.now, first, second)
        }
    for instant in (first, second):
        for label_id, label in world.labels.items():
            label.state(now=instant - timedelta(seconds=1))
            assert label.scheduled_page is not None, (instant, world.rows(label_id))
        world.clock.now = instant + timedelta(seconds=1)
        for label in world.labels.values():
            label.state(now=world.clock.now)  # the label's own timer fires
            assert label.shown == due[instant]
        # The next change ahead, once this instant has passed: the image of now again (the
        # controller has not heard of the flip yet; the label, busy drawing the flip,
        # says so and is asked again), then the next timed image.
        for _ in range(5):
            await _exchange(world)
    for label_id, label in world.labels.items():
        assert label.shown_hash is not None
        assert world.state(label_id).confirmed_hash == label.shown_hash.hex()
        assert all(status in ("acked", "superseded") for _, status in world.rows(label_id))
