"""The update pipeline's bulk writes on every database backend (SQLite, and PostgreSQL when
configured): plan, send, settle, then a second change planned as a delta."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, select

from esl.db.engine import session_factory
from esl.db.models import LabelAcknowledgementRow
from tests.pipeline.in_memory_gateway import radio
from tests.pipeline.small_world import World
from tests.support.database import seed_reference_data
from tests.support.pipeline import publish_prices


@pytest.fixture
def world(engine: Engine) -> World:
    with session_factory(engine).begin() as session:
        seed_reference_data(session)
    return World.priced(engine, count=3)


async def test_labels_confirm_two_changes_in_turn(world: World) -> None:
    assert world.controller.plan_due_work() == 3
    await world.send_due()
    world.dispatcher.settle(radio(world.gateway.take(), world.labels, now=world.clock.now))
    first = {label_id: world.hash_of(label_id) for label_id in world.labels}
    for label_id, digest in first.items():
        state = world.state(label_id)
        assert (state.confirmed_hash, state.displayed_hash, state.last_sequence) == (
            digest,
            digest,
            1,
        )
        assert state.battery_mv is not None
        assert state.last_seen is not None
        assert world.rows(label_id) == [(1, "acked")]

    world.clock.advance(timedelta(minutes=20))  # past the first refresh
    publish_prices(world.sessions, {"MLK-1": "2.79"}, now=world.clock.now)
    assert world.controller.plan_due_work() == 3
    await world.send_due()
    world.dispatcher.settle(radio(world.gateway.take(), world.labels, now=world.clock.now))
    for label_id in world.labels:
        state = world.state(label_id)
        assert state.confirmed_hash == state.displayed_hash == world.hash_of(label_id)
        assert state.confirmed_hash != first[label_id]
        assert state.last_sequence == 2
        assert world.rows(label_id) == [(1, "acked"), (2, "acked")]
    with world.sessions() as session:
        history = session.execute(
            select(LabelAcknowledgementRow.sequence, LabelAcknowledgementRow.at).order_by(
                LabelAcknowledgementRow.id
            )
        ).all()
    assert [sequence for sequence, _ in history] == [1, 1, 1, 2, 2, 2]
    assert all(at.tzinfo is not None for _, at in history)
