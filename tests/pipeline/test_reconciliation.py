"""Reconciliation: a label's check-in (the signed hash of what its panel shows) corrects
the controller's record, an old check-in never rolls it back, and a periodic pass finds
records that contradict themselves. Labels are firmware_sim labels on one test clock."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine

from firmware_sim.images import ImageStore
from gateways.base import Uplink
from rendering.encoding import content_hash
from tests.pipeline.in_memory_gateway import radio
from tests.pipeline.small_world import PRICES_A, World
from tests.support.pipeline import expected_planes, publish_prices

PRICES_B = {"MLK-1": "3.19"}


@pytest.fixture
def world(engine: Engine) -> World:
    return World.priced(engine, count=2)


def _assert_truth(world: World, label_id: str) -> None:
    """Panel == record == due."""
    label = world.labels[label_id]
    world.clock.advance(timedelta(seconds=30))  # past the panel's refresh
    label.synchronize(now=world.clock.now)
    state = world.state(label_id)
    due = world.hash_of(label_id)
    assert label.shown is not None
    assert content_hash(label.shown).hex() == state.confirmed_hash == state.desired_hash == due
    with world.sessions() as session:
        assert label.shown == expected_planes(
            session, label_id=label_id, sku=world.sku, at=world.clock.now
        )


async def test_a_label_restored_from_a_backup_is_found_by_its_check_in_and_updated(
    world: World,
) -> None:
    label_id = sorted(world.labels)[0]
    await world.converge()
    backup = world.back_up(label_id)  # shows the old price, sequence 1
    publish_prices(world.sessions, PRICES_B, now=world.clock.now)
    await world.converge()
    _assert_truth(world, label_id)

    world.restore(label_id, backup)
    assert world.labels[label_id].shown != world.labels[sorted(world.labels)[1]].shown
    world.clock.advance(timedelta(minutes=1))
    world.dispatcher.settle([world.check_in(label_id)])
    assert world.dispatcher.counts.reconciled == 1
    await world.converge()
    _assert_truth(world, label_id)
    world.dispatcher.settle([world.check_in(label_id)])  # agrees now: nothing more
    assert world.dispatcher.counts.reconciled == 1


async def test_an_old_check_in_replayed_later_never_makes_an_old_price_look_shown(
    world: World,
) -> None:
    label_id = sorted(world.labels)[0]
    await world.converge()
    captured = world.check_in(label_id)  # "I show price A", sequence 1
    publish_prices(world.sessions, PRICES_B, now=world.clock.now)
    await world.converge()
    _assert_truth(world, label_id)
    world.clock.advance(timedelta(minutes=1))
    replayed = Uplink("S01", "gw1", captured.payload, world.clock.now)
    world.dispatcher.settle([replayed])
    await world.converge()
    _assert_truth(world, label_id)
    # The price goes back to A: the label must be sent A, not be believed to show it.
    publish_prices(world.sessions, {"MLK-1": PRICES_A["MLK-1"]}, now=world.clock.now)
    await world.converge()
    _assert_truth(world, label_id)


async def test_the_periodic_pass_repairs_a_corrupted_record(world: World) -> None:
    await world.converge()
    broken = sorted(world.labels)[1]
    world.corrupt_record(broken)
    world.clock.advance(world.controller.settings.reconcile_every)
    await world.converge()
    for label_id in world.labels:
        _assert_truth(world, label_id)


def _blanked(world: World, label_id: str) -> None:
    """The label loses its panel and stored images (a reset), keeping its counter."""
    world.restore(label_id, (world.labels[label_id].snapshot(), ImageStore()))


async def test_a_label_found_again_while_its_repair_is_planned_is_not_forgotten(
    world: World,
) -> None:
    label_id = sorted(world.labels)[0]
    await world.converge()
    _blanked(world, label_id)
    world.clock.advance(timedelta(minutes=1))
    world.dispatcher.settle([world.check_in(label_id)])
    assert world.dispatcher.counts.reconciled == 1
    steps = world.controller._planning_steps()
    while not any(status == "pending" for _, status in world.rows(label_id)):
        assert next(steps, None) is not None, "the repair was never planned"
    # Between two chunks of the pass, the dispatcher sends the repair, the label takes
    # it, is reset once more and says so.
    await world.send_due()
    world.dispatcher.settle(radio(world.gateway.take(), world.labels, now=world.clock.now))
    world.clock.advance(timedelta(seconds=30))
    _blanked(world, label_id)
    world.dispatcher.settle([world.check_in(label_id)])
    assert world.dispatcher.counts.reconciled == 2
    for _ in steps:  # the rest of the pass
        pass
    # The next poll (not the periodic pass, minutes later) repairs it again.
    world.controller.plan_due_work()
    await world.send_due()
    world.dispatcher.settle(radio(world.gateway.take(), world.labels, now=world.clock.now))
    _assert_truth(world, label_id)
