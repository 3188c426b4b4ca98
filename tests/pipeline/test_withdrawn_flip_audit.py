"""A promotion ahead whose timed image a label already holds is withdrawn (end_promotion)
or moved 20 minutes later, five minutes before its start, while the label is out of
reach: the controller plans the regular image to cancel the flip, and the label never
gets it. At the start it flips by its own clock to -20 %, a price no longer due. The
audit, judging by the plan, called that shelf `match` ("shows 3.49, due 3.49") until the
cancelling frame parked (found by a hunter). Now the flip the label holds is its own
record (`esl.pipeline.held_flips`): the shelf is never `match` while the panel is wrong,
the console draws the -20 % image as flipped, and once the label is heard again it is
given the regular price and the audit says `match`."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine

from esl.pipeline.controller import KEEPALIVE_LOOK_EVERY
from esl.pipeline.label_keepalive import FLIP_CHECKED_AFTER
from esl.services.panel_image import PanelSource
from esl.ui.shelf_views import label_panel
from gateways.base import Uplink
from tests.pipeline.small_world import SHELF_RIGHT, World
from tests.support.audit import audit_by_label
from tests.support.pipeline import publish


@pytest.fixture
def world(engine: Engine) -> World:
    return World.priced(engine, count=2)


def _flash(starts: datetime) -> dict[str, Any]:
    return {
        "action": "upsert_promotion",
        "promotion_id": "FLASH",
        "name": "Flash",
        "kind": "percent_off",
        "percent": "20",
        "skus": ["MLK-1"],
        "channels": ["store"],
        "valid_from": starts.isoformat(),
    }


async def _holding_the_flash(world: World) -> tuple[str, datetime, str]:
    """-20 % on MLK-1 from 20 minutes ahead, timed on both labels and acknowledged: a
    label, the start, and the -20 % image it holds."""
    await world.converge()
    starts = (world.clock.now + timedelta(minutes=20)).replace(microsecond=0)
    publish(world.sessions, [_flash(starts)], now=world.clock.now)
    await world.converge()
    label_id = sorted(world.labels)[0]
    state = world.state(label_id)
    flash = state.desired_hash
    assert flash is not None
    assert state.desired_display_at == starts
    assert state.confirmed_hash == flash
    return label_id, starts, flash


async def _seen_flipped_then_put_right(world: World, label_id: str, flash: str) -> None:
    """The shelf shows the -20 % image, the audit and console say so; heard again, the
    label is given the regular image and the audit says `match`."""
    assert world.panel_hash(label_id) == flash != world.hash_of(label_id)
    verdict = audit_by_label(world.sessions, world.clock.now)[label_id]
    # Offline by now (its cancelling frame parked unanswered), showing the -20 % price.
    assert not verdict.shows_due
    assert verdict.audit_class.value not in SHELF_RIGHT
    assert (verdict.shown_price, verdict.due_price) == (Decimal("2.79"), Decimal("3.49"))
    with world.sessions() as session:
        panel = label_panel(session, world.state(label_id), now=world.clock.now)
    assert (panel.shown, panel.source) == (flash, PanelSource.FLIPPED)

    world.dispatcher.settle([world.check_in(label_id)])  # back in reach
    await world.run_until(world.clock.now + timedelta(minutes=5))
    assert world.panel_hash(label_id) == world.hash_of(label_id)
    assert audit_by_label(world.sessions, world.clock.now)[label_id].audit_class.value == "match"


async def test_a_withdrawn_flip_the_label_still_holds_is_not_audited_as_match(
    world: World,
) -> None:
    label_id, starts, flash = await _holding_the_flash(world)
    _withdraw_flash(world, starts)

    assert (
        await world.false_matches(
            label_id, until=starts + timedelta(minutes=10), out_of_reach={label_id}
        )
        == []
    )
    await _seen_flipped_then_put_right(world, label_id, flash)


async def test_a_postponed_flip_the_label_still_holds_is_not_audited_as_match(
    world: World,
) -> None:
    label_id, starts, flash = await _holding_the_flash(world)
    world.clock.now = starts - timedelta(minutes=5)
    later = starts + timedelta(minutes=20)
    publish(world.sessions, [_flash(later)], now=world.clock.now)

    assert (
        await world.false_matches(
            label_id, until=starts + timedelta(minutes=10), out_of_reach={label_id}
        )
        == []
    )
    await _seen_flipped_then_put_right(world, label_id, flash)
    assert world.clock.now < later  # put right before the promotion's new start


# Answers signed before the instant that arrive after it (a gateway relaying late, a
# broker's backlog after a restart): found by review. The flip was counted only while
# the label had not been heard since the instant, by arrival; such a check-in, which says
# nothing of the flip, hid it: `match` on the withdrawn -20 %, `stale` on a due one.


def _withdraw_flash(world: World, starts: datetime) -> None:
    world.clock.now = starts - timedelta(minutes=5)
    publish(
        world.sessions, [{"action": "end_promotion", "promotion_id": "FLASH"}], now=world.clock.now
    )


async def _check_in_held_across_the_withdrawn_flip(
    world: World,
) -> tuple[str, datetime, str, bytes]:
    """The flash held and withdrawn, its label out of reach: its check-in signed five
    seconds before the start, held up at its gateway, and the clock ten seconds past the
    start. The label, the start, the flash's image and the check-in."""
    label_id, starts, flash = await _holding_the_flash(world)
    _withdraw_flash(world, starts)
    await world.run_until(starts - timedelta(seconds=30), out_of_reach={label_id})
    report = world.labels[label_id].status_report(now=starts - timedelta(seconds=5))
    assert report is not None  # shows 3.49, holds the flip
    world.clock.now = starts + timedelta(seconds=10)
    return label_id, starts, flash, report


async def test_a_check_in_signed_before_a_withdrawn_flip_arriving_after_it_hides_nothing(
    world: World,
) -> None:
    label_id, starts, flash, report = await _check_in_held_across_the_withdrawn_flip(world)
    assert world.panel_hash(label_id) == flash  # flipped by its own clock
    world.dispatcher.settle([Uplink("S01", "gw1", report, world.clock.now)])

    assert (
        await world.false_matches(
            label_id, until=starts + timedelta(minutes=10), out_of_reach={label_id}
        )
        == []
    )


async def test_a_check_in_signed_before_a_due_flip_arriving_after_it_is_not_stale(
    world: World,
) -> None:
    label_id, starts, flash = await _holding_the_flash(world)
    await world.run_until(starts - timedelta(seconds=30))
    report = world.labels[label_id].status_report(now=starts - timedelta(seconds=5))
    assert report is not None
    world.clock.now = starts + timedelta(seconds=10)
    world.dispatcher.settle([Uplink("S01", "gw1", report, world.clock.now)])

    wrong = []
    # Until its answer to the ping after the flip is heard, the flip is counted, not heard
    # (`unconfirmed`); never `stale`, and right from then on.
    asked = starts + FLIP_CHECKED_AFTER + KEEPALIVE_LOOK_EVERY
    while world.clock.now < starts + timedelta(minutes=10):
        await world.run_until(world.clock.now + timedelta(minutes=1))
        assert world.panel_hash(label_id) == flash == world.hash_of(label_id)
        verdict = audit_by_label(world.sessions, world.clock.now)[label_id]
        if verdict.audit_class.value == "unconfirmed" and world.clock.now <= asked:
            continue
        if verdict.audit_class.value not in SHELF_RIGHT:
            wrong.append(f"{world.clock.now}: {verdict.audit_class.value}")
    assert wrong == [], "the shelf shows the due -20 %"


async def test_a_parked_cancel_is_delivered_when_the_label_checks_in_before_the_instant(
    world: World,
) -> None:
    """Withdrawn 40 minutes ahead while the label is out of reach (the cancelling frame
    parks); back 4 minutes before the start, it checks in holding the flip: it is given
    3.49 again in time, so the withdrawn -20 % is never on the shelf."""
    await world.converge()
    starts = (world.clock.now + timedelta(minutes=60)).replace(microsecond=0)
    publish(world.sessions, [_flash(starts)], now=world.clock.now)
    await world.converge()
    label_id = sorted(world.labels)[0]
    flash = world.state(label_id).desired_hash
    world.clock.now = starts - timedelta(minutes=40)
    publish(
        world.sessions, [{"action": "end_promotion", "promotion_id": "FLASH"}], now=world.clock.now
    )
    await world.run_until(starts - timedelta(minutes=4), out_of_reach={label_id})
    assert "parked" in {status for _, status in world.rows(label_id)}

    world.dispatcher.settle([world.check_in(label_id)])
    shown = []
    while world.clock.now < starts + timedelta(minutes=10):
        await world.run_until(world.clock.now + timedelta(minutes=1))
        if world.panel_hash(label_id) == flash:
            shown.append(world.clock.now)
    assert shown == [], "the withdrawn -20 % was on the shelf"
    assert audit_by_label(world.sessions, world.clock.now)[label_id].audit_class.value == "match"


async def test_a_check_in_from_before_the_flip_was_taken_arriving_late_is_not_believed(
    world: World,
) -> None:
    """Signed before the label took the timed frame (no pending flag), it arrives after
    the withdrawal's cancelling frame parked: older than the claim held, it is not
    believed, and the flip the label holds still counts once its instant comes."""
    await world.converge()
    label_id = sorted(world.labels)[0]
    starts = (world.clock.now + timedelta(minutes=60)).replace(microsecond=0)
    old = world.check_in(label_id)
    publish(world.sessions, [_flash(starts)], now=world.clock.now)
    await world.converge()
    world.clock.now = starts - timedelta(minutes=40)
    publish(
        world.sessions, [{"action": "end_promotion", "promotion_id": "FLASH"}], now=world.clock.now
    )
    await world.run_until(starts - timedelta(minutes=4), out_of_reach={label_id})
    world.dispatcher.settle([Uplink(old.store, old.gateway, old.payload, world.clock.now)])

    assert (
        await world.false_matches(
            label_id, until=starts + timedelta(minutes=10), out_of_reach={label_id}
        )
        == []
    )
