"""A label holding a timed flip, restored from a backup (an older panel, the same flip
held), answers the keep-alive ping. A check-in saying the same was corrected at once (its
panel is neither the image of now nor the timed one); the ping's answer was not, because
settlement wrote its panel into `displayed_hash` (the image of now the verdict compares
with) before weighing it: health counted it "scheduled", nothing was planned until the
15-minute re-plan, and a check-in after it was judged "expected" too."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine

from esl.services.health import label_health
from esl.services.templates import save_template
from tests.pipeline.in_memory_gateway import radio
from tests.pipeline.small_world import T0, World
from tests.support.pipeline import publish_prices


def _layout(top: float) -> dict:
    return {
        "size_class": "medium",
        "regions": [
            {"name": "name", "fill": "product_name", "box": [0.05, 0.02, 0.9, 0.2]},
            {"name": "price", "fill": "price", "box": [0.05, top, 0.9, 0.5]},
        ],
    }


@pytest.fixture
def world(engine: Engine) -> World:
    return World.priced(engine, count=1)


async def _restored_holding_the_flip(world: World) -> str:
    (label_id,) = world.labels
    with world.sessions.begin() as session:
        save_template(session, name="shelf", definition=_layout(0.25), by="t", now=T0)
    world.bind_to_template(label_id, "shelf")
    await world.converge()  # 3.49
    flip = (world.clock.now + timedelta(hours=3)).replace(microsecond=0)
    publish_prices(world.sessions, {"MLK-1": "2.49"}, now=world.clock.now, effective_at=flip)
    await world.converge()  # holds 2.49 for the flip
    backup = world.back_up(label_id)  # panel 3.49, flip 2.49 held
    shown = world.labels[label_id]
    assert shown.scheduled_page is not None
    assert shown.shown_hash is not None
    backup[1].intern(shown.shown_hash, shown.shown)  # what the panel shows, kept too
    world.clock.advance(timedelta(minutes=1))
    with world.sessions.begin() as session:  # a new layout version: both images change
        save_template(session, name="shelf", definition=_layout(0.35), by="t", now=T0)
    await world.converge()
    world.restore(label_id, backup)
    label = world.labels[label_id]
    assert label.shown_hash is not None
    assert label.shown_hash.hex() != world.hash_of(label_id)
    return label_id


async def _answer_of_ping(world: World, label_id: str) -> list:
    world.clock.advance(timedelta(minutes=46))
    world.controller.plan_due_work()
    await world.send_due()
    sent = world.gateway.take()
    assert [d.label_id for d in sent] == [label_id], "the keep-alive ping"
    return radio(sent, world.labels, now=world.clock.now)


async def test_a_check_in_from_the_restored_label_is_corrected(world: World) -> None:
    label_id = await _restored_holding_the_flip(world)
    await _answer_of_ping(world, label_id)  # its answer lost
    world.clock.advance(timedelta(seconds=10))
    world.dispatcher.settle([world.check_in(label_id)])
    assert world.dispatcher.counts.reconciled == 1


async def test_a_ping_answer_from_the_restored_label_is_corrected(world: World) -> None:
    label_id = await _restored_holding_the_flip(world)
    world.dispatcher.settle(await _answer_of_ping(world, label_id))
    state = world.state(label_id)
    assert world.dispatcher.counts.reconciled == 1, (
        f"panel: the old layout, restored; record displayed {state.displayed_hash[:12]} "
        f"confirmed {state.confirmed_hash[:12]}: nothing planned"
    )


async def test_after_a_ping_answer_a_check_in_is_still_corrected(world: World) -> None:
    label_id = await _restored_holding_the_flip(world)
    world.dispatcher.settle(await _answer_of_ping(world, label_id))
    world.clock.advance(timedelta(seconds=10))
    world.dispatcher.settle([world.check_in(label_id)])
    assert world.dispatcher.counts.reconciled >= 1, "the ping's answer made the panel 'expected'"


async def test_after_a_ping_answer_health_does_not_count_the_label_scheduled(world: World) -> None:
    label_id = await _restored_holding_the_flip(world)
    world.dispatcher.settle(await _answer_of_ping(world, label_id))
    world.clock.advance(timedelta(seconds=1))
    planned = world.controller.plan_due_work()  # the next poll, not the periodic pass
    with world.sessions() as session:
        (health,) = label_health(session, now=world.clock.now)
    # The image of now and its flip, both of the new layout, sent again.
    assert (planned, health.scheduled, health.pending) == (2, 0, 1)
