"""A label holds the flip to a promotion's start; the controller stalls (its database away,
the host busy), or is down and restarted, across the start and the end, a mere ten minutes
of promotion; the label flips to the promotion on its own clock and nothing tells it the
promotion ended. When the controller looks again it must put the regular price back at
once: docs/pipeline.md, *Several changes ahead* ("a label that flipped on its own to the
first change while its plan is not the last change past is planned for now at once").

Found: that holds only while no later change is planned ahead for the label. With one (the
same SKU's next promotion, an hour later), `_plan_after_flips` first plans the changes
still ahead: the label's plan (the past flip) is older than the next change, so the next
change's timed image is planned, and whether the image of now must go in front of it is
judged by `label_states.displayed_hash`, the label's last word, from before its flip:
the regular price, equal to what is due now, so the timed image goes alone. Then the label
counts as planned for the change ahead, no longer "not the last change past", and the
look planning labels for now skips it (its timed frame not answered yet). The panel keeps
the ended promotion's price (2.79; the till charges 3.49) until the periodic re-plan, up to
`replan_every` (15 min) later. After a restart alike: its first pass plans the changes
ahead before its re-plan of every label, which then finds the label's timed frame not
answered yet and leaves it to the next re-plan, 15 minutes on. The audit says `stale` meanwhile."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine

from tests.pipeline.small_world import World
from tests.support.audit import audit_by_label
from tests.support.database import engine_on_every_backend  # noqa: F401 - fixtures
from tests.support.pipeline import milk_percent_off, publish


@pytest.fixture
def world(engine: Engine) -> World:
    return World.priced(engine, count=1)


@pytest.mark.parametrize("down", ["stalled", "restarted"])
async def test_the_regular_price_comes_back_at_the_next_look_with_a_change_planned_ahead(
    world: World, down: str
) -> None:
    await world.converge()
    starts = world.clock.now.replace(second=0, microsecond=0) + timedelta(minutes=30)
    ends = starts + timedelta(minutes=10)
    later = ends + timedelta(hours=1)  # within `lead`: planned ahead already
    publish(world.sessions, [milk_percent_off("FLASH", "20", starts, ends)], now=world.clock.now)
    publish(
        world.sessions,
        [milk_percent_off("NEXT", "30", later, later + timedelta(hours=1))],
        now=world.clock.now,
    )
    await world.run_until(starts - timedelta(minutes=2))
    (label_id,) = world.labels
    assert world.state(label_id).held_display_at == starts

    # No look from two minutes before the start until a minute after the end: the
    # controller stalled, or stopped and started again.
    world.clock.advance(ends + timedelta(minutes=1) - world.clock.now)
    if down == "restarted":
        world.restart_controller()
    assert world.panel_hash(label_id) != world.hash_of(label_id)  # -20 %, flipped unheard

    await world.run_until(world.clock.now + timedelta(minutes=2))
    verdict = audit_by_label(world.sessions, world.clock.now)[label_id]
    assert world.panel_hash(label_id) == world.hash_of(label_id), (
        f"{world.clock.now}: the shelf still shows the ended promotion: audit "
        f"{verdict.audit_class.value}, shows {verdict.shown_price}, due {verdict.due_price}"
    )
