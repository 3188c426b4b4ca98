"""A label heard by two gateways of its store: its answers count once, whichever relays them."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from sqlalchemy import Engine, select

from esl.db.models import GatewayRow, SecurityEventRow
from tests.pipeline.in_memory_gateway import radio
from tests.pipeline.small_world import World
from tests.support.audit import audit_by_label
from tests.support.pipeline import publish_prices


def _second_gateway(world: World) -> None:
    with world.sessions.begin() as session:
        session.add(GatewayRow(id="gw2", store="S01", transport="mqtt", name="gw2"))


def _events(world: World) -> list[tuple[str, str | None]]:
    with world.sessions() as session:
        return list(session.execute(select(SecurityEventRow.kind, SecurityEventRow.label_id)).all())


async def _ack_twice(engine: Engine, first: str, second: str) -> None:
    world = await World.showing(engine, {"MLK-1": "3.49"}, count=1)
    _second_gateway(world)
    label_id = sorted(world.labels)[0]
    world.clock.advance(timedelta(minutes=5))
    publish_prices(world.sessions, {"MLK-1": "2.99"}, now=world.clock.now)
    world.controller.plan_due_work()
    await world.send_due()
    (answer,) = radio(world.gateway.take(), world.labels, now=world.clock.now)
    world.dispatcher.settle([replace(answer, gateway=first)])
    world.dispatcher.settle([replace(answer, gateway=second)])
    assert [s for _, s in world.rows(label_id)][-1] == "acked"
    assert world.state(label_id).confirmed_hash == world.panel_hash(label_id)
    assert _events(world) == []
    verdict = audit_by_label(world.sessions, world.clock.now)[label_id]
    assert verdict.audit_class.value == "match", verdict


async def test_ack_via_own_then_other_gateway(engine: Engine) -> None:
    await _ack_twice(engine, "gw1", "gw2")


async def test_ack_via_other_then_own_gateway(engine: Engine) -> None:
    await _ack_twice(engine, "gw2", "gw1")


async def test_ack_twice_in_one_batch(engine: Engine) -> None:
    world = await World.showing(engine, {"MLK-1": "3.49"}, count=1)
    _second_gateway(world)
    label_id = sorted(world.labels)[0]
    world.clock.advance(timedelta(minutes=5))
    publish_prices(world.sessions, {"MLK-1": "2.99"}, now=world.clock.now)
    world.controller.plan_due_work()
    await world.send_due()
    (answer,) = radio(world.gateway.take(), world.labels, now=world.clock.now)
    world.dispatcher.settle([replace(answer, gateway="gw2"), answer])
    assert [s for _, s in world.rows(label_id)][-1] == "acked"
    assert world.state(label_id).confirmed_hash == world.panel_hash(label_id)
    assert _events(world) == []


async def test_check_in_heard_by_both_gateways(engine: Engine) -> None:
    world = await World.showing(engine, {"MLK-1": "3.49"}, count=1)
    _second_gateway(world)
    label_id = sorted(world.labels)[0]
    world.clock.advance(timedelta(minutes=5))
    check_in = world.check_in(label_id)
    world.dispatcher.settle([check_in])
    world.dispatcher.settle([replace(check_in, gateway="gw2")])
    world.clock.advance(timedelta(minutes=5))
    world.dispatcher.settle([replace(world.check_in(label_id), gateway="gw2")])
    world.controller.plan_due_work()
    await world.send_due()
    assert world.gateway.take() == []
    assert _events(world) == []
    assert world.state(label_id).confirmed_hash == world.panel_hash(label_id)
    verdict = audit_by_label(world.sessions, world.clock.now)[label_id]
    assert verdict.audit_class.value == "match", verdict


async def test_check_in_via_gw2_before_late_ack_via_gw1(engine: Engine) -> None:
    world = await World.showing(engine, {"MLK-1": "3.49"}, count=1)
    _second_gateway(world)
    label_id = sorted(world.labels)[0]
    world.clock.advance(timedelta(minutes=5))
    publish_prices(world.sessions, {"MLK-1": "2.99"}, now=world.clock.now)
    world.controller.plan_due_work()
    await world.send_due()
    (ack,) = radio(world.gateway.take(), world.labels, now=world.clock.now)
    world.clock.advance(timedelta(seconds=3))
    world.dispatcher.settle([replace(world.check_in(label_id), gateway="gw2")])
    world.clock.advance(timedelta(seconds=3))
    world.dispatcher.settle([ack])
    for _ in range(10):
        world.clock.advance(timedelta(seconds=30))
        world.controller.plan_due_work()
        await world.send_due()
        world.dispatcher.settle(radio(world.gateway.take(), world.labels, now=world.clock.now))
    assert (
        world.state(label_id).confirmed_hash
        == world.panel_hash(label_id)
        == world.hash_of(label_id)
    )
    assert _events(world) == []
    verdict = audit_by_label(world.sessions, world.clock.now)[label_id]
    assert verdict.audit_class.value == "match", verdict


async def test_timed_flip_check_ins_via_two_gateways_out_of_order(engine: Engine) -> None:
    world = await World.showing(engine, {"MLK-1": "3.49"}, count=1)
    _second_gateway(world)
    label_id = sorted(world.labels)[0]
    flip = world.publish_flip_ahead("2.49")
    await world.acknowledge_timed_image(label_id, flip)
    before = replace(world.check_in(label_id, at=flip - timedelta(minutes=1)), gateway="gw1")
    world.clock.now = flip + timedelta(minutes=3)
    after = replace(world.check_in(label_id), gateway="gw2")
    world.dispatcher.settle([after])
    world.dispatcher.settle([before])  # gw1's backlog, relayed late
    for _ in range(6):
        world.clock.advance(timedelta(seconds=30))
        world.controller.plan_due_work()
        await world.send_due()
        world.dispatcher.settle(radio(world.gateway.take(), world.labels, now=world.clock.now))
    verdict = audit_by_label(world.sessions, world.clock.now)[label_id]
    assert world.panel_hash(label_id) == world.hash_of(label_id)
    assert verdict.audit_class.value == "match", verdict
    assert _events(world) == []
