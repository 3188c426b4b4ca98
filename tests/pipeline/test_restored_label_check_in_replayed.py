"""A check-in of a label restored from a backup (an older sequence, its clock current)
counts for health once; a replay of it afterwards does not revive a dead label.

Found by review: that health was taken without noting its clock, so every later replay
of the same check-in counted as newer health.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine

from esl.db.engine import session_factory
from gateways.base import Uplink
from tests.pipeline.small_world import PRICES_A, T0, World
from tests.support.pipeline import publish_prices

PRICES_B = {**PRICES_A, "MLK-1": "3.99"}


@pytest.fixture
def world(engine: Engine) -> World:
    publish_prices(session_factory(engine), PRICES_A, now=T0)
    return World(engine, count=1)


def _check_in(world: World, label_id: str) -> Uplink:
    report = world.labels[label_id].status_report(now=world.clock.now)
    assert report is not None
    return Uplink("S01", "gw1", report, world.clock.now)


async def test_a_replay_of_an_older_sequence_check_in_does_not_revive_a_dead_label(
    world: World,
) -> None:
    label_id = sorted(world.labels)[0]
    await world.converge()
    backup = world.back_up(label_id)  # sequence 1, shows A
    world.clock.advance(timedelta(minutes=1))
    publish_prices(world.sessions, PRICES_B, now=world.clock.now)
    await world.converge()
    world.clock.advance(timedelta(minutes=1))
    publish_prices(world.sessions, PRICES_A, now=world.clock.now)
    await world.converge()  # sequence 3, shows A again
    assert world.state(label_id).claim_sequence == 3

    # The label is restored from its backup (sequence 1, still showing A): its check-in
    # is older than the claim held by sequence, newer by its clock.
    world.restore(label_id, backup)
    world.clock.advance(timedelta(minutes=1))
    captured = _check_in(world, label_id)
    world.dispatcher.settle([captured])
    last_heard = world.state(label_id).last_seen
    assert last_heard == captured.received_at

    # The label dies; six hours later the captured check-in is replayed.
    world.clock.advance(timedelta(hours=6))
    world.dispatcher.settle([Uplink("S01", "gw1", captured.payload, world.clock.now)])
    assert world.state(label_id).last_seen == last_heard, (
        "a replayed check-in made a silent label look alive again"
    )
