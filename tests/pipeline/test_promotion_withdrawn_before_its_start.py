"""A promotion published ahead, whose timed image the labels hold, withdrawn before its
start: ended, or replaced by one that no longer reaches the labels' SKU (its SKUs or
categories narrowed), or moved later. The publication must queue the SKUs the promotion
reached, so the labels are planned again at the controller's next pass and never flip to
the withdrawn price. Before, `end_promotion` and a narrowing `upsert_promotion` queued
the stored targets read after the publication had deleted or rewritten them: nothing, or
only the new ones; the labels kept the flip and showed -20 % at the instant until the
periodic re-plan, up to 15 minutes later, while the till charged 3.49. Moved later, or
narrowed by a promotion file (which reads the targets before rewriting them), it was
right before and stays so."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from esl.imports.promotions import import_promotions
from tests.pipeline.small_world import World
from tests.support.pipeline import publish


@pytest.fixture
def world(engine: Engine) -> World:
    return World.priced(engine, count=2)


def _flash(starts: datetime, **targets: list[str]) -> dict[str, Any]:
    """-20 % from `starts` on `targets` (its SKUs or categories), store channel."""
    return {
        "action": "upsert_promotion",
        "promotion_id": "FLASH",
        "name": "Flash",
        "kind": "percent_off",
        "percent": "20",
        "channels": ["store"],
        "valid_from": starts.isoformat(),
        **targets,
    }


Withdrawal = Callable[[World, datetime], None]


def _published(item: Callable[[datetime], dict[str, Any]]) -> Withdrawal:
    def withdraw(world: World, starts: datetime) -> None:
        publish(world.sessions, [item(starts)], now=world.clock.now)

    return withdraw


def _imported(row: Callable[[datetime], str]) -> Withdrawal:
    def withdraw(world: World, starts: datetime) -> None:
        with world.sessions.begin() as session:
            import_promotions(
                session,
                "id,name,kind,percent,channels,skus,valid_from\n" + row(starts),
                currency="PLN",
                imported_by="test",
                now=world.clock.now,
            )

    return withdraw


# Each case: the promotion as first published (on MLK-1, the labels' SKU), and what is
# published or imported five minutes before its start.
_WITHDRAWALS: dict[str, tuple[dict[str, list[str]], Withdrawal]] = {
    "ended": (
        {"skus": ["MLK-1"]},
        _published(lambda starts: {"action": "end_promotion", "promotion_id": "FLASH"}),
    ),
    "skus narrowed": (
        {"skus": ["MLK-1", "CHS-1"]},
        _published(lambda starts: _flash(starts, skus=["CHS-1"])),
    ),
    "category replaced by a SKU": (
        {"categories": ["dairy"]},
        _published(lambda starts: _flash(starts, skus=["CHS-1"])),
    ),
    "moved later": (
        {"skus": ["MLK-1"]},
        _published(lambda starts: _flash(starts + timedelta(minutes=20), skus=["MLK-1"])),
    ),
    "skus narrowed by a promotion file": (
        {"skus": ["MLK-1", "CHS-1"]},
        _imported(lambda starts: f"FLASH,Flash,percent_off,20,store,CHS-1,{starts.isoformat()}\n"),
    ),
}


@pytest.mark.parametrize("case", list(_WITHDRAWALS))
async def test_labels_holding_a_withdrawn_flip_are_planned_again_before_its_start(
    world: World, case: str
) -> None:
    first, withdraw = _WITHDRAWALS[case]
    await world.converge()
    starts = (world.clock.now + timedelta(minutes=20)).replace(microsecond=0)
    publish(world.sessions, [_flash(starts, **first)], now=world.clock.now)
    await world.converge()
    flash = {label_id: world.state(label_id).desired_hash for label_id in world.labels}
    for label_id in world.labels:
        state = world.state(label_id)
        assert state.desired_display_at == starts
        assert state.confirmed_hash == flash[label_id] != world.hash_of(label_id)
    # Past the periodic re-plan at 15 minutes, so the next one is after the start.
    await world.run_until(starts - timedelta(minutes=5))

    withdraw(world, starts)
    sent_before = {label_id: len(world.rows(label_id)) for label_id in world.labels}
    world.controller.plan_due_work()
    for label_id in world.labels:
        # At the controller's next pass, not at the periodic re-plan after the start.
        assert len(world.rows(label_id)) > sent_before[label_id]
        assert world.state(label_id).desired_display_at != starts

    while world.clock.now < starts + timedelta(minutes=2):
        await world.run_until(world.clock.now + timedelta(seconds=30))
        for label_id in world.labels:
            assert world.panel_hash(label_id) != flash[label_id], world.clock.now
    for label_id in world.labels:
        assert world.panel_hash(label_id) == world.hash_of(label_id)  # 3.49, as charged
