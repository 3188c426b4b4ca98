"""A change published for now keeps the change already planned for later.

Found by the shelf-truth property test: a promotion runs, a price change is planned for
a later instant (the labels hold its timed image), then the promotion is replaced by
another at the same price with a later end (no new price, a new validity text), for now.
Planning that for now replaced each label's plan with the image of now and superseded
its timed image. Only the controller's look for passed instants planned the later change
again, and only when the publication's instant came after its previous look: one
published in the instant of a look (or committed just after a look that began after its
instant) was never seen to pass, and after the instant the shelf kept the old price,
recorded as up to date, until the periodic re-plan (15 min) noticed.
The dispatcher's own code, simulated labels speaking the real protocol, one clock.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine

from rendering.encoding import content_hash
from tests.pipeline.in_memory_gateway import radio
from tests.pipeline.shared_clock_store import publish
from tests.pipeline.small_world import T0, World
from tests.support.pipeline import expected_planes, publish_prices


@pytest.fixture
def world(engine: Engine) -> World:
    return World.priced(engine)


async def _exchange(world: World) -> None:
    """Plan, send what is due, let the labels answer; then their panels finish drawing."""
    world.controller.plan_due_work()
    await world.send_due()
    world.dispatcher.settle(radio(world.gateway.take(), world.labels, now=world.clock.now))
    world.clock.advance(timedelta(seconds=30))


def _ten_percent_off(world: World, name: str, *, days: int, priority: int) -> None:
    until = (T0 + timedelta(days=days)).replace(hour=23, minute=0)
    promotion = {
        "action": "upsert_promotion",
        "promotion_id": name,
        "name": name,
        "kind": "percent_off",
        "percent": "10",
        "skus": ["MLK-1"],
        "channels": ["store"],
        "valid_until": until.isoformat(),
        "priority": priority,
    }
    publish(world.sessions, [promotion], now=world.clock.now)


async def test_a_promotion_replaced_now_keeps_the_price_change_planned_for_later(
    world: World,
) -> None:
    world.clock.advance(timedelta(minutes=1))  # the ledger takes one entry per instant
    _ten_percent_off(world, "SPRING", days=5, priority=0)
    await _exchange(world)
    flip = world.clock.now + timedelta(minutes=30)
    publish_prices(world.sessions, {"MLK-1": "2.99"}, now=world.clock.now, effective_at=flip)
    await _exchange(world)
    assert all(label.scheduled_page is not None for label in world.labels.values())

    # The same 10 % for longer: no new price now, but the validity text changes. Published
    # in the instant the controller looks for work (or committed just after a look that
    # began after its instant): the controller never sees that instant pass.
    world.controller.plan_due_work()
    _ten_percent_off(world, "SPRING-LONGER", days=7, priority=1)
    for _ in range(3):
        await _exchange(world)

    with world.sessions() as session:
        label_id = sorted(world.labels)[0]
        now_planes = expected_planes(session, label_id=label_id, sku="MLK-1", at=world.clock.now)
        flip_planes = expected_planes(session, label_id=label_id, sku="MLK-1", at=flip)
    assert now_planes != flip_planes
    for label in world.labels.values():
        assert label.shown == now_planes  # the longer promotion at the price of now
        assert label.scheduled_page is not None  # and the flip to it at 2.99

    # At the instant the labels flip on their own clock, well before any periodic re-plan.
    world.clock.now = flip + timedelta(seconds=1)
    for label_id, label in world.labels.items():
        label.state(now=world.clock.now)
        assert label.shown == flip_planes, world.rows(label_id)
    await _exchange(world)
    for label_id in world.labels:
        state = world.state(label_id)
        assert state.confirmed_hash == content_hash(flip_planes).hex() == state.desired_hash


async def test_two_changes_whose_instants_pass_between_two_looks_both_reach_the_shelf(
    world: World,
) -> None:
    """A label holds one timed image, the earliest; the next change is planned when the
    controller sees the first instant pass. When one look sees both instants pass (the
    controller was busy, or the database away, across both), the second change was never
    planned: the shelf kept the first price, recorded as up to date, until the periodic
    re-plan (found by the shelf-truth property test)."""
    await _exchange(world)
    first = world.clock.now + timedelta(minutes=10)
    second = first + timedelta(seconds=1)
    publish_prices(world.sessions, {"MLK-1": "3.19"}, now=world.clock.now, effective_at=first)
    await _exchange(world)
    publish_prices(world.sessions, {"MLK-1": "2.99"}, now=world.clock.now, effective_at=second)
    await _exchange(world)

    world.clock.now = second + timedelta(seconds=4)  # one look after both instants
    for _ in range(3):
        await _exchange(world)
    with world.sessions() as session:
        due = expected_planes(session, label_id=sorted(world.labels)[0], sku="MLK-1", at=second)
    for label_id, label in world.labels.items():
        assert label.shown == due, world.rows(label_id)
        state = world.state(label_id)
        assert state.confirmed_hash == content_hash(due).hex() == state.desired_hash
