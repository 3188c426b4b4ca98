"""A replayed old check-in moves nothing the controller records.

A MAC proves who signed a check-in, not when: whoever holds a store gateway's login can
publish a captured one again. Found by review: a replay six hours later set the battery
and "last seen" back (a dead label looked alive, its parked updates revived), and a
replay older by the label's clock than the newest check-in put old content back in the
record as shown on a blank panel. Now a check-in older than a claim held is weighed as
older (a difference sends the due image again, in full) and, unless its clock is newer
than all believed, reports no health.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, update

from esl.db.models import OutboxRow
from firmware_sim.images import ImageStore
from gateways.base import Uplink
from tests.pipeline.small_world import PRICES_A, World
from tests.support.pipeline import publish_prices


@pytest.fixture
def world(engine: Engine) -> World:
    return World.priced(engine, count=1)


async def test_a_replayed_old_check_in_does_not_revive_a_silent_labels_health(
    world: World,
) -> None:
    label_id = sorted(world.labels)[0]
    await world.converge()
    label = world.labels[label_id]

    world.clock.advance(timedelta(minutes=1))
    captured = world.check_in(label_id)  # healthy: full battery, heard now
    world.dispatcher.settle([captured])
    healthy_mv = world.state(label_id).battery_mv

    # The battery sags; the label's next (newer) check-in says so.
    world.clock.advance(timedelta(minutes=1))
    label.set_battery_mv(2300)
    world.dispatcher.settle([world.check_in(label_id)])
    newest = world.state(label_id)
    assert newest.battery_mv == 2300 != healthy_mv
    last_heard = newest.last_seen

    # The label dies. Hours later whoever holds the gateway's login replays the OLD
    # check-in on the store's own up topic.
    world.clock.advance(timedelta(hours=6))
    replayed = Uplink("S01", "gw1", captured.payload, world.clock.now)
    world.dispatcher.settle([replayed])

    after = world.state(label_id)
    # Nothing the label reports may move: not its battery, not when it was last heard.
    moved = {
        name: (before, now)
        for name, before, now in (
            ("battery_mv", 2300, after.battery_mv),
            ("last_seen", last_heard, after.last_seen),
        )
        if before != now
    }
    assert not moved, f"a replayed old check-in moved the label's record: {moved}"


def _blanked(world: World, label_id: str) -> None:
    """The label loses its panel and stored images (a reset), keeping its counter (as
    tests/pipeline/test_reconciliation.py models a reset)."""
    world.restore(label_id, (world.labels[label_id].snapshot(), ImageStore()))


async def test_a_replayed_check_in_older_by_label_clock_is_not_believed_over_a_newer_one(
    world: World,
) -> None:
    """Claims are ordered by (sequence, label clock): a check-in captured while the label
    showed A, replayed after its newer check-in (same sequence, later clock) said it shows
    nothing, must not put A back in the record; the label gets A again."""
    label_id = sorted(world.labels)[0]
    await world.converge()
    shown_a = world.state(label_id).displayed_hash
    assert shown_a is not None

    world.clock.advance(timedelta(minutes=1))
    captured = world.check_in(label_id)  # (seq 1, t1): "I show A"

    world.clock.advance(timedelta(minutes=1))
    _blanked(world, label_id)
    world.dispatcher.settle([world.check_in(label_id)])  # (seq 1, t2): "I show nothing"
    assert world.dispatcher.counts.reconciled == 1
    assert world.state(label_id).displayed_hash is None
    assert world.labels[label_id].shown is None

    # Replayed before the repair is planned: older than the claim held, by the label's clock.
    world.clock.advance(timedelta(seconds=5))
    world.dispatcher.settle([Uplink("S01", "gw1", captured.payload, world.clock.now)])

    after = world.state(label_id)
    assert after.displayed_hash != shown_a, (
        "a replayed older check-in made old content look shown on a blank panel"
    )
    await world.converge()
    label = world.labels[label_id]
    label.synchronize(now=world.clock.now)
    due = world.hash_of(label_id)
    assert label.shown_hash is not None
    assert label.shown_hash.hex() == due
    assert world.state(label_id).displayed_hash == due


async def test_a_label_whose_clock_went_back_gets_its_parked_update_and_is_heard_again(
    world: World,
) -> None:
    """A new battery: the counter kept, the clock a day behind. Its check-in is older than
    the claim held (a replay looks the same), so it reports no health; but the update
    parked for the flat battery is sent again, and the label's answer to it is newer."""
    label_id = sorted(world.labels)[0]
    await world.converge()
    label = world.labels[label_id]
    world.clock.advance(timedelta(minutes=1))
    publish_prices(world.sessions, {**PRICES_A, "MLK-1": "3.99"}, now=world.clock.now)
    world.controller.plan_due_work()
    with world.sessions.begin() as session:
        session.execute(
            update(OutboxRow)
            .where(OutboxRow.label_id == label_id, OutboxRow.status.in_(("pending", "sent")))
            .values(status="parked", parked_reason="flat battery")
        )
    world.clock.advance(timedelta(minutes=30))
    label.set_battery_mv(3000)
    label.clock_offset_ms = -86_400_000
    world.dispatcher.settle([world.check_in(label_id)])
    assert world.state(label_id).last_seen != world.clock.now  # no health from it
    assert "pending" in [status for _, status in world.rows(label_id)]  # revived
    await world.converge()
    label.synchronize(now=world.clock.now)
    state = world.state(label_id)
    assert label.shown_hash is not None
    assert label.shown_hash.hex() == world.hash_of(label_id) == state.confirmed_hash
    assert state.battery_mv is not None
    assert state.battery_mv > 2_900  # heard again (the new battery), from its answer


async def test_a_replay_of_an_older_sequence_check_in_does_not_revive_a_dead_label(
    world: World,
) -> None:
    """A label restored from a backup (an older sequence, its clock current): its check-in
    counts for health once, and its clock is noted, so a replay of it counts no more."""
    label_id = sorted(world.labels)[0]
    await world.converge()
    backup = world.back_up(label_id)  # sequence 1, shows A
    world.clock.advance(timedelta(minutes=1))
    publish_prices(world.sessions, {**PRICES_A, "MLK-1": "3.99"}, now=world.clock.now)
    await world.converge()
    world.clock.advance(timedelta(minutes=1))
    publish_prices(world.sessions, PRICES_A, now=world.clock.now)
    await world.converge()  # sequence 3, shows A again
    assert world.state(label_id).claim_sequence == 3

    # The label is restored from its backup (sequence 1, still showing A): its check-in
    # is older than the claim held by sequence, newer by its clock.
    world.restore(label_id, backup)
    world.clock.advance(timedelta(minutes=1))
    captured = world.check_in(label_id)
    world.dispatcher.settle([captured])
    last_heard = world.state(label_id).last_seen
    assert last_heard == captured.received_at

    # The label dies; six hours later the captured check-in is replayed.
    world.clock.advance(timedelta(hours=6))
    world.dispatcher.settle([Uplink("S01", "gw1", captured.payload, world.clock.now)])
    assert world.state(label_id).last_seen == last_heard, (
        "a replayed check-in made a silent label look alive again"
    )
