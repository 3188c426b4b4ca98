"""A label reset to factory and provisioned again with its same key counts from 0 again; a
store gateway (or anyone with its login) replaying a captured old price frame to it then
has it take that frame, draw the old price and sign a genuine acknowledgement saying so.
With no check-in relayed (a BLE label, a store gateway that reports none), that answer is
all the controller hears: refused as older than the claim held, the record and the audit
went on saying `match` for the new price while the shelf showed the old one (21 minutes,
until a keep-alive ping's answer). Now such an answer, signed after every claim held, is
weighed as an older check-in is: the record forgets what the label shows and the due
image is sent in full. An answer merely reordered behind a newer one costs nothing."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from sqlalchemy import Engine

from esl.audit.classify import AuditClass
from firmware_sim.fleet import build_labels
from firmware_sim.images import ImageStore
from gateways.base import Downlink
from gateways.protocol import LabelProvision
from tests.pipeline.in_memory_gateway import radio
from tests.pipeline.small_world import PRICES_A, World
from tests.support.audit import audit_by_label
from tests.support.pipeline import publish_prices


def audit_class(world: World, label_id: str) -> AuditClass:
    return audit_by_label(world.sessions, world.clock.now)[label_id].audit_class


async def a_captured_first_price(world: World, label_id: str) -> tuple[list[Downlink], str]:
    """PRICES_A delivered (its frame kept, as an attacker on the store's topics would),
    then 2.99 delivered and confirmed: the captured frame and the first price's image."""
    publish_prices(world.sessions, PRICES_A, now=world.clock.now)
    world.controller.plan_due_work()
    await world.send_due()
    captured = world.gateway.take()
    assert captured
    world.dispatcher.settle(radio(captured, world.labels, now=world.clock.now))
    await world.converge()
    first = world.panel_hash(label_id)
    assert first is not None
    world.clock.advance(timedelta(minutes=5))
    publish_prices(world.sessions, {"MLK-1": "2.99"}, now=world.clock.now)
    await world.converge()
    assert world.panel_hash(label_id) == world.hash_of(label_id) != first
    assert audit_class(world, label_id) is AuditClass.MATCH
    return captured, first


def reset_to_factory(world: World, label_id: str) -> None:
    """The label reset and provisioned again from the file the controller holds: the same
    key, its count back at 0, a blank panel."""
    model = world.labels[label_id].hardware.model.id
    (reset,) = build_labels(
        [LabelProvision(label_id=label_id, model_id=model, key=world.keys[label_id])],
        now=world.clock.now,
        images=ImageStore(),
    )
    world.labels[label_id] = reset


async def test_a_reset_label_that_took_a_replayed_old_frame_is_not_called_match_and_is_put_right(
    engine: Engine,
) -> None:
    world = World(engine, count=1)
    label_id = sorted(world.labels)[0]
    captured, first = await a_captured_first_price(world, label_id)
    world.clock.advance(timedelta(minutes=5))
    reset_to_factory(world, label_id)

    world.clock.advance(timedelta(seconds=30))
    answers = radio(captured, world.labels, now=world.clock.now)  # the replay, taken
    assert world.panel_hash(label_id) == first  # the shelf shows the old price again
    world.dispatcher.settle(answers)

    # The label signed that it shows another image: never `match` on the record's word.
    assert audit_class(world, label_id) in (AuditClass.UNCONFIRMED, AuditClass.UNKNOWN_CONTENT)
    assert world.state(label_id).displayed_hash is None
    # A copy of that answer, published again, is older than it: nothing more to do.
    world.dispatcher.settle([replace(answers[0], received_at=world.clock.now)])

    # The due image goes out in full, one frame, and the label takes it (above its count).
    opened = len(world.rows(label_id))
    await world.run_until(world.clock.now + timedelta(minutes=2))
    assert len(world.rows(label_id)) == opened + 1
    assert world.panel_hash(label_id) == world.hash_of(label_id)
    assert audit_class(world, label_id) is AuditClass.MATCH


async def test_an_older_answer_reordered_behind_a_newer_one_sends_nothing(engine: Engine) -> None:
    world = World(engine, count=1)
    label_id = sorted(world.labels)[0]
    publish_prices(world.sessions, PRICES_A, now=world.clock.now)
    world.controller.plan_due_work()
    await world.send_due()
    first = radio(world.gateway.take(), world.labels, now=world.clock.now)  # shows A
    world.clock.advance(timedelta(minutes=1))
    publish_prices(world.sessions, {"MLK-1": "2.99"}, now=world.clock.now)
    world.controller.plan_due_work()
    await world.send_due()
    second = radio(world.gateway.take(), world.labels, now=world.clock.now)  # shows B
    world.clock.advance(timedelta(seconds=5))
    world.dispatcher.settle(second)
    world.dispatcher.settle(first)  # the older answer, late: the panel shows B all along
    world.dispatcher.settle(first)  # and its duplicate

    opened = len(world.rows(label_id))
    await world.run_until(world.clock.now + timedelta(minutes=5))
    assert len(world.rows(label_id)) == opened
    assert world.panel_hash(label_id) == world.hash_of(label_id)
    assert audit_class(world, label_id) is AuditClass.MATCH
