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

from esl.services.panel_image import PanelSource
from esl.ui.shelf_views import label_panel
from tests.pipeline.small_world import World
from tests.support.audit import audit_by_label
from tests.support.pipeline import publish

_TRUE = ("match", "intended_difference")  # what the audit calls a shelf showing its due price


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


async def _audited_out_of_reach(world: World, label_id: str, until: datetime) -> list[str]:
    """Minute by minute with `label_id` out of reach: each minute the audit called its
    shelf `match` (or an intended difference) while the panel showed other than due."""
    false_matches = []
    while world.clock.now < until:
        await world.run_until(world.clock.now + timedelta(minutes=1), out_of_reach={label_id})
        panel, due = world.panel_hash(label_id), world.hash_of(label_id)
        verdict = audit_by_label(world.sessions, world.clock.now)[label_id]
        if panel != due and verdict.audit_class.value in _TRUE:
            false_matches.append(
                f"{world.clock.now}: audit {verdict.audit_class.value} "
                f"(shows {verdict.shown_price}, due {verdict.due_price})"
            )
    return false_matches


async def _seen_flipped_then_put_right(world: World, label_id: str, flash: str) -> None:
    """The shelf shows the -20 % image, the audit and console say so; heard again, the
    label is given the regular image and the audit says `match`."""
    assert world.panel_hash(label_id) == flash != world.hash_of(label_id)
    verdict = audit_by_label(world.sessions, world.clock.now)[label_id]
    # Offline by now (its cancelling frame parked unanswered), showing the -20 % price.
    assert not verdict.shows_due
    assert verdict.audit_class.value not in _TRUE
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
    world.clock.now = starts - timedelta(minutes=5)
    publish(
        world.sessions, [{"action": "end_promotion", "promotion_id": "FLASH"}], now=world.clock.now
    )

    assert await _audited_out_of_reach(world, label_id, starts + timedelta(minutes=10)) == []
    await _seen_flipped_then_put_right(world, label_id, flash)


async def test_a_postponed_flip_the_label_still_holds_is_not_audited_as_match(
    world: World,
) -> None:
    label_id, starts, flash = await _holding_the_flash(world)
    world.clock.now = starts - timedelta(minutes=5)
    later = starts + timedelta(minutes=20)
    publish(world.sessions, [_flash(later)], now=world.clock.now)

    assert await _audited_out_of_reach(world, label_id, starts + timedelta(minutes=10)) == []
    await _seen_flipped_then_put_right(world, label_id, flash)
    assert world.clock.now < later  # put right before the promotion's new start
