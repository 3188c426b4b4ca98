"""A label's signed answer counts only on its own store's `up` topic. The broker lets a
gateway login publish on its own store's topics alone; before, the controller took a
genuine answer of a label of S01 that S02's login published on S02's topic (captured on
S01's network, where the plain listener can be read) as if S01's gateway had relayed it:
another store's login settled S01's updates and could replay S01's answers into it."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import Engine, select

from esl.db.models import SecurityEventRow
from tests.pipeline.in_memory_gateway import radio
from tests.pipeline.small_world import World


async def test_an_answer_published_on_another_stores_topic_is_refused(engine: Engine) -> None:
    world = World.priced(engine, count=1)
    label_id = sorted(world.labels)[0]
    world.controller.plan_due_work()
    await world.send_due()
    (answer,) = radio(world.gateway.take(), world.labels, now=world.clock.now)

    world.dispatcher.settle([replace(answer, store="S02", gateway="S02-gw1")])

    assert world.rows(label_id) == [(1, "sent")]  # before: acknowledged
    with world.sessions() as session:
        events = session.execute(
            select(SecurityEventRow.kind, SecurityEventRow.store, SecurityEventRow.label_id)
        ).all()
    assert events == [("answer via another store", "S02", label_id)]

    world.dispatcher.settle([answer])  # the same answer on its own store's topic counts

    assert world.rows(label_id) == [(1, "acked")]
