"""A label the controller keeps in sync with pings, and one that is gone: the gone label is
asked a few times, then left alone until it is heard from again."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, select

from esl.audit.classify import AuditClass
from esl.db.console_models import LabelActionRow
from esl.db.engine import session_factory
from esl.pipeline.label_keepalive import keep_in_sync_after, pings_before_giving_up
from esl.services.health import label_conditions
from gateways.protocol import LabelState
from tests.pipeline.in_memory_gateway import radio
from tests.pipeline.small_world import PRICES_A, World
from tests.support.audit import audit_by_label
from tests.support.pipeline import publish_prices

# Pinged after 27 minutes of silence (offline after 30), five unanswered span two hours.
_GIVING_UP = pings_before_giving_up(keep_in_sync_after(timedelta(minutes=30)))


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
    assert _pings(world, gone) == ["unanswered"] * _GIVING_UP

    # Back in range (it forgot its key after two hours silent, and is associated again
    # with it): its check-in is heard, and it is kept in sync again.
    world.labels[gone].associate(world.keys[gone], now=world.clock.now)
    world.dispatcher.settle([world.check_in(gone)])
    await _quiet_hour(world, gone=None)
    assert _pings(world, gone) == ["unanswered"] * _GIVING_UP + ["answered"]
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

    # Maybe asked while still away (unanswered), then asked back in reach, and heard.
    assert "answered" in _pings(world, away)
    label = world.labels[away]
    assert label.state(now=world.clock.now) is not LabelState.UNASSOCIATED
    assert label.shown_hash.hex() == world.state(away).confirmed_hash == world.hash_of(away)
    assert "parked" not in [status for _, status in world.rows(away)]


def _offline_now(world: World) -> set[str]:
    """The labels health or the audit calls offline at the world's instant."""
    with world.sessions() as session:
        health = {
            row.label_id
            for row in label_conditions(session, now=world.clock.now)
            if row.condition.offline
        }
    audit = audit_by_label(world.sessions, world.clock.now)
    return health | {label for label, v in audit.items() if v.audit_class is AuditClass.OFFLINE}


async def _minute(world: World, *, gone: str | None = None) -> None:
    """The controller's look and round, every frame reaching its label except `gone`'s;
    then a minute passes."""
    world.controller.plan_due_work()
    await world.send_due()
    sent = [d for d in world.gateway.take() if d.label_id != gone]
    world.dispatcher.settle(radio(sent, world.labels, now=world.clock.now))
    world.clock.advance(timedelta(minutes=1))


async def test_labels_that_answer_every_ping_are_never_called_offline(world: World) -> None:
    """Labels that speak only when spoken to (BLE: no check-ins of their own) are heard
    when pinged. A label silent 30 minutes (ESL_LABEL_OFFLINE_AFTER_S) is offline, and
    the pings came after 45 minutes of silence: every such label, answering each ping at
    once, was called offline by health and the audit for a quarter of an hour in every
    45. The controller now asks before the offline bound; one that stops answering is
    still offline by it."""
    called_offline = []
    for minute in range(150):
        if offline := _offline_now(world):
            called_offline.append((minute, sorted(offline)))
        await _minute(world)
    assert called_offline == []
    _, gone = sorted(world.labels)
    assert len(_pings(world, gone)) >= 5  # kept by pings all along

    for _ in range(31):
        await _minute(world, gone=gone)
    assert _offline_now(world) == {gone}
