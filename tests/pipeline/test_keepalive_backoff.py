"""A label the controller keeps in sync with pings, and one that is gone: the gone label is
asked a few times, then left alone until it is heard from again."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, select

from esl.db.console_models import LabelActionRow
from esl.db.engine import session_factory
from esl.pipeline.label_keepalive import UNANSWERED_PINGS_BEFORE_GIVING_UP
from gateways.protocol import LabelState
from tests.pipeline.in_memory_gateway import radio
from tests.pipeline.small_world import PRICES_A, World
from tests.support.pipeline import publish_prices


@pytest.fixture
async def world(engine: Engine) -> World:
    world = World(engine, count=2)
    publish_prices(session_factory(engine), PRICES_A, now=world.clock.now)
    await world.converge()
    return world


def _pings(world: World, label_id: str) -> list[str]:
    with world.sessions() as session:
        return list(
            session.scalars(
                select(LabelActionRow.status)
                .where(LabelActionRow.label_id == label_id, LabelActionRow.action == "ping")
                .order_by(LabelActionRow.id)
            )
        )


async def _quiet_hour(world: World, *, gone: str | None) -> None:
    """50 minutes without a price change, then the controller's looks and rounds for two
    minutes: every frame reaches its label, except those to `gone`."""
    world.clock.advance(timedelta(minutes=50))
    for _ in range(24):
        world.controller.plan_due_work()
        await world.send_due()
        sent = [d for d in world.gateway.take() if d.label_id != gone]
        world.dispatcher.settle(radio(sent, world.labels, now=world.clock.now))
        world.clock.advance(timedelta(seconds=5))


async def test_a_gone_label_is_pinged_a_few_times_then_left_until_heard_again(
    world: World,
) -> None:
    live, gone = sorted(world.labels)
    for _ in range(8):  # more than six hours of silence from the gone label
        await _quiet_hour(world, gone=gone)
    # The live label keeps answering, and is kept in sync all along.
    assert _pings(world, live) == ["answered"] * 8
    # The gone label was asked a few times, not every 45 minutes for ever.
    assert _pings(world, gone) == ["unanswered"] * UNANSWERED_PINGS_BEFORE_GIVING_UP

    # Back in range (it forgot its key after two hours silent, and is associated again
    # with it): its check-in is heard, and it is kept in sync again.
    world.labels[gone].associate(world.keys[gone], now=world.clock.now)
    world.dispatcher.settle([world.check_in(gone)])
    await _quiet_hour(world, gone=None)
    assert _pings(world, gone) == ["unanswered"] * UNANSWERED_PINGS_BEFORE_GIVING_UP + ["answered"]
    assert _pings(world, live) == ["answered"] * 9


async def test_a_label_back_in_reach_after_its_update_parked_is_pinged_and_gets_it(
    world: World,
) -> None:
    """A label out of reach for half an hour (a shelf being moved) misses a price change:
    its frame is parked, offline, to be sent again once the label is heard. A BLE label
    is heard only when something reaches it; a parked frame is not on its way, yet it
    kept the keep-alive pings away: the label, back in reach, was never contacted, left
    sync, forgot its key after two hours, and kept the old price on the shelf."""
    _, away = sorted(world.labels)
    publish_prices(world.sessions, {"MLK-1": "3.79"}, now=world.clock.now)
    for _ in range(400):  # 33 minutes: every attempt of its frame is lost
        world.controller.plan_due_work()
        await world.send_due()
        sent = [d for d in world.gateway.take() if d.label_id != away]
        world.dispatcher.settle(radio(sent, world.labels, now=world.clock.now))
        world.clock.advance(timedelta(seconds=5))
    assert [status for _, status in world.rows(away)][-1] == "parked"

    for _ in range(3):  # back in reach, and no price change for hours
        await _quiet_hour(world, gone=None)

    assert _pings(world, away)[0] == "answered"
    label = world.labels[away]
    assert label.state(now=world.clock.now) is not LabelState.UNASSOCIATED
    assert label.shown_hash.hex() == world.state(away).confirmed_hash == world.hash_of(away)
    assert "parked" not in [status for _, status in world.rows(away)]
