"""A label whose newer check-in says it shows exactly the due image is sent nothing.

Found by review: after reconciliation forgot the record, the "already on the panel" rule
(`LabelState.settled_on`) no longer held and the label was sent its own image again.
A newer check-in with no update on its way settles what the label shows.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine

from gateways.base import Uplink
from tests.pipeline.small_world import World


@pytest.fixture
def world(engine: Engine) -> World:
    return World.priced(engine, count=1)


async def test_a_newer_check_in_showing_the_due_image_sends_no_frame(world: World) -> None:
    label_id = sorted(world.labels)[0]
    await world.converge()
    due = world.hash_of(label_id)
    frames_before = len(world.rows(label_id))
    world.corrupt_record(label_id)

    world.clock.advance(timedelta(minutes=1))
    report = world.labels[label_id].status_report(now=world.clock.now)
    assert report is not None
    world.dispatcher.settle([Uplink("S01", "gw1", report, world.clock.now)])
    assert world.dispatcher.counts.reconciled == 1
    await world.converge()

    state = world.state(label_id)
    assert state.confirmed_hash == due
    new_frames = world.rows(label_id)[frames_before:]
    assert new_frames == [], f"the label already showing {due[:12]} was sent {new_frames}"
