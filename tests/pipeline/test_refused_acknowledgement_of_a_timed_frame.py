"""A timed frame's acknowledgement relayed behind the label's next check-in (a gateway's
backlog): refused as older than the check-in, it still settles the frame, but the flip
the label holds was never recorded, and the record stayed sure of the panel before it.
The promotion then withdrawn five minutes before its start while the label is out of
reach, the label flipped to -20 % by its own clock and the audit said `match` ("shows
3.49, due 3.49") for eight minutes (found by a hunter). The older word cannot say whether
the label still holds the flip (believed, it could bring back one the label lost since: a
battery swapped), so the record forgets what the label shows: the audit says
`unconfirmed`, never `match`, and the label is planned again. Real controller and
dispatcher, firmware_sim labels through the in-memory gateway, one test clock; SQLite and
PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine

from tests.pipeline.small_world import SHELF_RIGHT, World
from tests.pipeline.test_withdrawn_flip_audit import _flash, _withdraw_flash
from tests.support.audit import audit_by_label
from tests.support.pipeline import publish


async def _flash_acknowledged_behind_its_check_in(world: World, label_id: str) -> datetime:
    """-20 % on MLK-1 from 20 minutes ahead: the label takes the timed frame and shows
    3.49 until then; its acknowledgement is relayed after its next check-in, which the
    controller took: refused as older, it settles the frame. The start."""
    world.clock.advance(timedelta(seconds=30))  # the panel's refresh over
    starts = (world.clock.now + timedelta(minutes=20)).replace(microsecond=0)
    publish(world.sessions, [_flash(starts)], now=world.clock.now)
    await world.acknowledged_behind_its_check_in(label_id)
    return starts


def _put_right(world: World, label_id: str) -> None:
    """The panel, the record and the price due agree, and the audit says `match`."""
    due = world.hash_of(label_id)
    state = world.state(label_id)
    assert world.panel_hash(label_id) == due
    assert (state.displayed_hash, state.confirmed_hash) == (due, due)
    assert audit_by_label(world.sessions, world.clock.now)[label_id].audit_class.value == "match"


async def test_a_flash_withdrawn_after_its_acknowledgement_was_refused_is_never_match(
    engine: Engine,
) -> None:
    world = World.priced(engine, count=1)
    await world.converge()
    (label_id,) = world.labels
    starts = await _flash_acknowledged_behind_its_check_in(world, label_id)
    # It shows 3.49 and may hold the flip: the record cannot say which it will show.
    verdict = audit_by_label(world.sessions, world.clock.now)[label_id]
    assert verdict.audit_class.value == "unconfirmed"

    # Out of reach from now on: the withdrawal's cancelling frame never gets there.
    found = await world.false_matches(
        label_id, until=starts - timedelta(minutes=5), out_of_reach={label_id}
    )
    _withdraw_flash(world, starts)
    found += await world.false_matches(
        label_id, until=starts + timedelta(minutes=10), out_of_reach={label_id}
    )
    assert world.panel_hash(label_id) != world.hash_of(label_id)  # flipped to -20 %
    assert found == [], "the audit called the flipped shelf right"

    world.dispatcher.settle([world.check_in(label_id)])  # back in reach
    await world.run_until(world.clock.now + timedelta(minutes=5))
    _put_right(world, label_id)
    assert world.state(label_id).held_hash is None


async def test_a_flash_kept_after_its_acknowledgement_was_refused_flips_as_recorded(
    engine: Engine,
) -> None:
    """Not withdrawn, the label in reach: the record that forgot the panel sends the timed
    image again; the label's answer records the flip, and the shelf flips at the start
    with the audit saying so."""
    world = World.priced(engine, count=1)
    await world.converge()
    (label_id,) = world.labels
    starts = await _flash_acknowledged_behind_its_check_in(world, label_id)

    found = await world.false_matches(label_id, until=starts - timedelta(minutes=1))
    state = world.state(label_id)
    assert (state.held_hash, state.held_display_at) == (state.desired_hash, starts)
    found += await world.false_matches(label_id, until=starts + timedelta(minutes=5))
    assert found == [], "the audit called a wrong shelf right"
    due = world.hash_of(label_id)
    # Heard after the instant (its answer to the ping asking whether it drew the flip):
    # what it shows is its own word now.
    assert world.panel_hash(label_id) == due == world.state(label_id).displayed_hash  # -20 %
    verdict = audit_by_label(world.sessions, world.clock.now)[label_id]
    assert verdict.shows_due
    assert verdict.audit_class.value in SHELF_RIGHT
