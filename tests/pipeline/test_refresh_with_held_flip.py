"""A staff refresh (Refresh Display) of a label that holds a timed image (a price change
planned ahead) draws the image on the panel again, not the page the timed image was
stored in, and the label still flips at the instant.

Found by review: the simulated label redrew its shown page, where the timed image already
was, and showed the future price two hours early while the record followed its answer."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, select

from esl.db.console_models import LabelActionRow
from tests.pipeline.in_memory_gateway import radio
from tests.pipeline.small_world import World
from tests.support.pipeline import publish_prices


@pytest.fixture
def world(engine: Engine) -> World:
    return World.priced(engine, count=1)


async def _round(world: World) -> None:
    # One round per check-in (the store gateway delivers at the label's check-ins, every
    # 40 s by default): the label's 15 s panel refresh is over by the next one.
    world.clock.advance(timedelta(seconds=20))
    world.controller.plan_due_work()
    await world.send_due()
    sent = world.gateway.take()
    world.dispatcher.settle(radio(sent, world.labels, now=world.clock.now))


async def _settle_actions(world: World) -> str:
    for _ in range(40):
        with world.sessions() as session:
            statuses = session.scalars(select(LabelActionRow.status)).all()
        if all(s not in ("requested", "sent") for s in statuses):
            return ",".join(statuses)
        await _round(world)
    raise AssertionError("action still open")


async def test_a_refresh_of_a_label_holding_a_flip_does_not_show_the_future_price(
    world: World,
) -> None:
    label_id = sorted(world.labels)[0]
    label = world.labels[label_id]
    await world.converge()  # shows 3.49
    flip = (world.clock.now + timedelta(hours=2)).replace(microsecond=0)
    publish_prices(world.sessions, {"MLK-1": "2.49"}, now=world.clock.now, effective_at=flip)
    await world.converge()  # holds the flip to 2.49 at `flip`
    world.clock.advance(timedelta(seconds=30))
    assert label.shown_hash.hex() == world.hash_of(label_id)  # 3.49, as due
    world.ask_refresh(label_id)
    assert await _settle_actions(world) == "answered"
    await world.converge()
    world.clock.advance(timedelta(seconds=30))
    assert world.clock.now < flip
    label.synchronize(now=world.clock.now)
    due = world.hash_of(label_id)
    state = world.state(label_id)
    panel = label.shown_hash.hex()
    assert panel == due, (
        f"before the instant the panel shows {panel[:12]} (not the due {due[:12]}); "
        f"record: displayed {str(state.displayed_hash)[:12]}, confirmed "
        f"{str(state.confirmed_hash)[:12]}"
    )
    world.clock.now = flip + timedelta(seconds=1)
    await world.converge()
    label.synchronize(now=world.clock.now)
    assert label.shown_hash.hex() == world.hash_of(label_id)  # 2.49, at the instant
