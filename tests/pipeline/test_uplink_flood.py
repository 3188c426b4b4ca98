"""One store's gateway login flooding its own `up` topic: before, every uplink heard
waited in one unbounded list until settled, so a flood grew the controller's memory
without limit and every store's answers waited behind it. Now each store holds at most
`uplinks_per_store` waiting; the excess is dropped and counted for that store alone."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import httpx
from sqlalchemy import Engine, func, select

from esl.api.app import create_app
from esl.db.models import LabelAcknowledgementRow, LabelStateRow
from esl.pipeline.controller_status import controller_status_path, write_controller_status
from esl.settings import Settings
from gateways.base import Uplink
from tests.pipeline.in_memory_gateway import radio
from tests.pipeline.small_world import T0, World

BOUND = 5


def _flood(world: World, store: str, count: int) -> None:
    for n in range(count):
        world.dispatcher.handle_event(Uplink(store, f"{store}-gw1", b"flood %d" % n, T0))


async def test_a_flooding_store_loses_its_excess_and_other_stores_are_settled(
    engine: Engine,
) -> None:
    world = World.priced(
        engine, count=2, settings=Settings.model_construct(controller_uplinks_per_store=BOUND)
    )
    world.controller.plan_due_work()
    await world.send_due()
    answers = radio(world.gateway.take(), world.labels, now=world.clock.now)

    _flood(world, "S02", 1_000)
    for answer in answers:
        world.dispatcher.handle_event(answer)

    assert world.dispatcher.inbox.waiting("S02") == BOUND  # memory bounded per store
    assert world.dispatcher.inbox.waiting("S01") == len(answers)
    assert world.controller.status().uplinks_dropped == {"S02": 1_000 - BOUND}
    await world.send_due()  # one round settles what waits
    assert all(world.rows(label_id) == [(1, "acked")] for label_id in world.labels)
    assert "S02 995" in world.controller.status().describe(
        now=world.clock.now, renew_every=world.controller.settings.lease.renew_every
    )


async def test_an_answer_dropped_in_its_own_stores_flood_costs_a_retry(engine: Engine) -> None:
    world = World.priced(
        engine, count=1, settings=Settings.model_construct(controller_uplinks_per_store=BOUND)
    )
    (label_id,) = world.labels
    world.controller.plan_due_work()
    await world.send_due()
    (answer,) = radio(world.gateway.take(), world.labels, now=world.clock.now)

    _flood(world, "S01", BOUND)  # the store's own login floods first
    world.dispatcher.handle_event(answer)  # the genuine answer finds no room
    await world.send_due()

    assert world.rows(label_id) == [(1, "sent")]
    assert world.controller.status().uplinks_dropped == {"S01": 1}
    # After the answer timeout the frame goes again; the label answers the repeat.
    world.clock.advance(world.dispatcher.policy.ack_timeout + timedelta(seconds=1))
    await world.converge()
    assert world.rows(label_id) == [(1, "acked")]
    with world.sessions() as session:
        state = session.get(LabelStateRow, label_id)
        assert state is not None
        assert state.confirmed_hash is not None
        assert state.confirmed_hash == state.desired_hash


async def test_metrics_count_each_flooding_stores_dropped_uplinks(
    engine: Engine, tmp_path: Path
) -> None:
    # Before, only `esl health` and /health/controller said a store was flooding: an
    # operator's alerting, which reads /metrics, could not see it.
    world = World(
        engine, count=1, settings=Settings.model_construct(controller_uplinks_per_store=BOUND)
    )
    _flood(world, "S02", 40)
    _flood(world, "S03", BOUND + 2)
    # What the running controller writes at every lease renewal (its status file).
    write_controller_status(controller_status_path(tmp_path), world.controller.status())
    app = create_app(Settings(data_dir=tmp_path), engine=engine, clock=world.clock)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://esl"
    ) as client:
        text = (await client.get("/metrics")).text

    dropped = dict(
        re.findall(r'^esl_controller_uplinks_dropped_total\{store="(\w+)"\} (\S+)$', text, re.M)
    )
    assert dropped == {"S02": str(float(40 - BOUND)), "S03": "2.0"}
    assert "# TYPE esl_controller_uplinks_dropped_total counter" in text


async def test_what_was_heard_of_a_store_given_up_is_not_settled_when_it_is_taken_back(
    engine: Engine,
) -> None:
    """A worker hears a store's check-in, then gives the store up (a balance, a fence)
    before a round settles it, and takes it back within a second (its share again).
    Before, the check-in waited in the inbox through both and was settled as new: older
    than the answers the store's holder recorded meanwhile, it made the record forget
    what the label shows (found under load in tests/workers/test_database_outage.py)."""
    world = World.priced(engine, count=1)
    (label_id,) = world.labels
    await world.converge()
    world.dispatcher.follow_stores(frozenset({"S01"}))
    history = _history_rows(world)

    world.dispatcher.handle_event(world.check_in(label_id))
    world.dispatcher.follow_stores(frozenset())
    world.dispatcher.follow_stores(frozenset({"S01"}))
    await world.send_due()

    assert world.dispatcher.inbox.waiting("S01") == 0
    assert _history_rows(world) == history, "a word heard before the store was given up"


def _history_rows(world: World) -> int:
    with world.sessions() as session:
        return session.scalar(select(func.count()).select_from(LabelAcknowledgementRow)) or 0
