"""A BLE label associated anew (a new device at its place, blank) is sent its whole image
at the controller's next rounds, as a refresh or a panel swapped for another model is:
its panel shows its due price within the minute, and the audit says `match` then.

Before, the record forgot what the label showed, but nothing planned it again until the
reconciliation pass (every 5 minutes): the shelf stayed blank, `unconfirmed`, for up to
5 minutes (a BLE label does not check in, so no check-in put it right sooner).

The controller finds those associations by their history rows' ids, above the highest it
looked at. On PostgreSQL an id is taken at INSERT but its row seen at COMMIT: of two
associations recorded at once, the one with the lower id may commit after the other's
row was looked at. That one too is planned at the next round (before, it was skipped,
and its label waited for the reconciliation pass).

The real controller and dispatcher, firmware_sim labels through the in-memory gateway,
one test clock; SQLite, and PostgreSQL when set (always for the writers at once).
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event

from firmware_sim.fleet import build_labels, make_fleet
from firmware_sim.images import ImageStore
from tests.pipeline.small_world import World
from tests.support.audit import audit_by_label
from tests.support.database import BACKENDS, ON_POSTGRESQL, backend_engine


@pytest.fixture(params=BACKENDS)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    with backend_engine(request.param, tmp_path) as engine:
        yield engine


def _frames_waiting(world: World, label_id: str) -> int:
    """`label_id`'s frames planned and not sent yet."""
    return sum(status == "pending" for _, status in world.rows(label_id))


async def test_a_label_associated_anew_shows_its_price_within_the_minute(engine: Engine) -> None:
    world = World.priced(engine, count=1)
    await world.converge()  # 3.49, acknowledged and shown
    (label_id,) = world.labels
    world.clock.advance(timedelta(minutes=1))
    # A new device, blank, takes the label's place (and key), and its association is
    # recorded.
    (provision,) = make_fleet(store="S01", gateway="gw1", count=1)
    device = dataclasses.replace(provision, key=world.keys[label_id])
    (world.labels[label_id],) = build_labels([device], now=world.clock.now, images=ImageStore())
    assert world.panel_hash(label_id) is None
    world.associated_anew(label_id, device="AA:BB:CC:00:00:01")
    verdict = audit_by_label(world.sessions, world.clock.now)[label_id]
    assert verdict.audit_class.value == "unconfirmed"

    await world.run_until(world.clock.now + timedelta(minutes=1))

    assert world.panel_hash(label_id) == world.hash_of(label_id), "its price, on the panel"
    verdict = audit_by_label(world.sessions, world.clock.now)[label_id]
    assert (verdict.audit_class.value, str(verdict.shown_price)) == ("match", "3.49")


@ON_POSTGRESQL
async def test_an_association_committed_after_a_later_one_was_looked_at_is_planned_next_round(
    engine: Engine,
) -> None:
    world = World.priced(engine, count=2)
    await world.converge()
    early, late = sorted(world.labels)
    world.clock.advance(timedelta(minutes=1))
    # Two associations recorded at once: `early`'s history row takes its id first, but
    # its transaction commits only after `late`'s was committed and the controller
    # looked at it.
    with world.associating_anew(early, device="AA:BB:CC:00:00:01", esl_id=1):
        world.associated_anew(late, device="AA:BB:CC:00:00:02", esl_id=2)
        world.clock.advance(timedelta(seconds=1))
        world.controller.plan_due_work()
        assert (_frames_waiting(world, early), _frames_waiting(world, late)) == (0, 1)
    world.clock.advance(timedelta(seconds=1))

    world.controller.plan_due_work()

    assert _frames_waiting(world, early) == 1, "planned now, not at the reconciliation pass"


# The statements of one look at the history rows, by what each reads.
_COUNTING = "count(label_acknowledgements.id)"
_LISTING = "SELECT label_acknowledgements.id \nFROM"
_LABELS = "SELECT DISTINCT label_acknowledgements.label_id"


@ON_POSTGRESQL
@pytest.mark.parametrize(
    "commits_before",
    [_COUNTING, _LISTING, _LABELS],
    ids=["the-count", "the-list-of-ids", "the-labels"],
)
async def test_an_association_committing_during_a_look_is_planned_next_round(
    engine: Engine, commits_before: str
) -> None:
    """Each statement sees the rows committed when it runs: `early`'s association
    commits between two statements of the controller's one look at the rows after
    `late`'s, and is planned at that round or the next whichever statement it comes
    before. (Before, committed just before the count, it was counted there, not read by
    the labels read before the count, and waited for the reconciliation pass.)"""
    world = World.priced(engine, count=2)
    await world.converge()
    early, late = sorted(world.labels)
    world.clock.advance(timedelta(minutes=1))
    world.controller.plan_due_work()  # the look that sets the mark
    with contextlib.ExitStack() as association:
        association.enter_context(
            world.associating_anew(early, device="AA:BB:CC:00:00:01", esl_id=1)
        )
        world.associated_anew(late, device="AA:BB:CC:00:00:02", esl_id=2)
        committed: list[str] = []

        def commit_early_before(*args: Any) -> None:
            statement = str(args[2])
            if commits_before in statement and not committed:
                committed.append(statement)
                association.close()

        event.listen(engine, "before_cursor_execute", commit_early_before)
        try:
            world.clock.advance(timedelta(seconds=1))
            world.controller.plan_due_work()
        finally:
            event.remove(engine, "before_cursor_execute", commit_early_before)
        assert committed, f"no statement {commits_before!r} in that look"
    for _ in range(2):
        world.clock.advance(timedelta(seconds=1))
        world.controller.plan_due_work()

    assert (_frames_waiting(world, early), _frames_waiting(world, late)) == (1, 1)
