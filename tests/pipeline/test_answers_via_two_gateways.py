"""A label heard by two gateways of its store: its answers count once, whichever relays them."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from sqlalchemy import Engine

from gateways.base import Uplink
from tests.pipeline.in_memory_gateway import radio
from tests.pipeline.small_world import World
from tests.support.audit import audit_by_label
from tests.support.pipeline import publish_prices
from tests.support.two_gateways import add_gateway, security_events, two_gateway_world


async def _answer_to_a_price_change(engine: Engine) -> tuple[World, str, Uplink]:
    """The label's answer to 2.99 sent via its own gateway, not yet settled."""
    world, label_id = await two_gateway_world(engine)
    publish_prices(world.sessions, {"MLK-1": "2.99"}, now=world.clock.now)
    world.controller.plan_due_work()
    await world.send_due()
    (answer,) = radio(world.gateway.take(), world.labels, now=world.clock.now)
    return world, label_id, answer


async def _rounds(world: World, count: int) -> None:
    for _ in range(count):
        world.clock.advance(timedelta(seconds=30))
        world.controller.plan_due_work()
        await world.send_due()
        world.dispatcher.settle(radio(world.gateway.take(), world.labels, now=world.clock.now))


def _acked_once_and_true(world: World, label_id: str) -> None:
    assert [s for _, s in world.rows(label_id)][-1] == "acked"
    assert world.state(label_id).confirmed_hash == world.panel_hash(label_id)
    assert security_events(world) == []


async def _ack_twice(engine: Engine, first: str, second: str) -> None:
    world, label_id, answer = await _answer_to_a_price_change(engine)
    world.dispatcher.settle([replace(answer, gateway=first)])
    world.dispatcher.settle([replace(answer, gateway=second)])
    _acked_once_and_true(world, label_id)
    verdict = audit_by_label(world.sessions, world.clock.now)[label_id]
    assert verdict.audit_class.value == "match", verdict


async def test_ack_via_own_then_other_gateway(engine: Engine) -> None:
    await _ack_twice(engine, "gw1", "gw2")


async def test_ack_via_other_then_own_gateway(engine: Engine) -> None:
    await _ack_twice(engine, "gw2", "gw1")


async def test_ack_twice_in_one_batch(engine: Engine) -> None:
    world, label_id, answer = await _answer_to_a_price_change(engine)
    world.dispatcher.settle([replace(answer, gateway="gw2"), answer])
    _acked_once_and_true(world, label_id)


async def test_check_in_heard_by_both_gateways(engine: Engine) -> None:
    world, label_id = await two_gateway_world(engine)
    check_in = world.check_in(label_id)
    world.dispatcher.settle([check_in])
    world.dispatcher.settle([replace(check_in, gateway="gw2")])
    world.clock.advance(timedelta(minutes=5))
    world.dispatcher.settle([replace(world.check_in(label_id), gateway="gw2")])
    world.controller.plan_due_work()
    await world.send_due()
    assert world.gateway.take() == []
    assert security_events(world) == []
    assert world.state(label_id).confirmed_hash == world.panel_hash(label_id)
    verdict = audit_by_label(world.sessions, world.clock.now)[label_id]
    assert verdict.audit_class.value == "match", verdict


async def test_check_in_via_gw2_before_late_ack_via_gw1(engine: Engine) -> None:
    world, label_id, ack = await _answer_to_a_price_change(engine)
    world.clock.advance(timedelta(seconds=3))
    world.dispatcher.settle([replace(world.check_in(label_id), gateway="gw2")])
    world.clock.advance(timedelta(seconds=3))
    world.dispatcher.settle([ack])
    await _rounds(world, 10)
    assert (
        world.state(label_id).confirmed_hash
        == world.panel_hash(label_id)
        == world.hash_of(label_id)
    )
    assert security_events(world) == []
    verdict = audit_by_label(world.sessions, world.clock.now)[label_id]
    assert verdict.audit_class.value == "match", verdict


async def test_timed_flip_check_ins_via_two_gateways_out_of_order(engine: Engine) -> None:
    world = await World.showing(engine, {"MLK-1": "3.49"}, count=1)
    add_gateway(world)
    label_id = sorted(world.labels)[0]
    flip = world.publish_flip_ahead("2.49")
    await world.acknowledge_timed_image(label_id, flip)
    before = replace(world.check_in(label_id, at=flip - timedelta(minutes=1)), gateway="gw1")
    world.clock.now = flip + timedelta(minutes=3)
    after = replace(world.check_in(label_id), gateway="gw2")
    world.dispatcher.settle([after])
    world.dispatcher.settle([before])  # gw1's backlog, relayed late
    await _rounds(world, 6)
    verdict = audit_by_label(world.sessions, world.clock.now)[label_id]
    assert world.panel_hash(label_id) == world.hash_of(label_id)
    assert verdict.audit_class.value == "match", verdict
    assert security_events(world) == []
