"""A label holds a timed image (the end of a promotion, a promotion's start) so that the
shelf changes at the instant on the label's own clock, whether or not the controller is
running then. A later publication published ahead of its own instant, which names the
label's SKU but leaves what the label shows at that instant as it is (a promotion for
another store, a web-only deal: a promotion item queues its SKUs in every store), must
leave that flip alone.

Found: planned `lead` ahead of its instant, such a publication resolves the label's
content at its instant, finds it equal to the content now, and plans the image of now
alone (`LabelPlanner._plan_one`: "nothing flips at the instant: due now"), which
cancels the flip the label held, hours before it was due. The flip is planned again only
when the controller sees that publication's instant pass (`_plan_after_flips`); with the
controller down (host restart, database outage, a lost lease) across both instants the
label never changes: the shelf keeps the ended promotion's price while the till charges
the regular one."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine

from tests.pipeline.small_world import World
from tests.support.audit import audit_by_label
from tests.support.database import engine_on_every_backend  # noqa: F401 - fixtures
from tests.support.pipeline import milk_percent_off, publish


@pytest.fixture
def world(engine: Engine) -> World:
    return World.priced(engine, count=2)


def _gdynia_deal_published_ahead(world: World, ends: datetime) -> datetime:
    """Gdynia's (S02) own deal on MLK-1, published ahead: from ten minutes before the
    chain's promotion `ends`. Its instant."""
    gdynia = ends - timedelta(minutes=10)
    publish(
        world.sessions,
        [milk_percent_off("GDYNIA", "30", gdynia, gdynia + timedelta(days=7), stores=["S02"])],
        now=world.clock.now,
        effective_at=gdynia,
    )
    return gdynia


async def test_an_ended_promotion_leaves_the_shelf_while_the_controller_is_down(
    world: World,
) -> None:
    await world.converge()
    start = world.clock.now.replace(second=0, microsecond=0)
    ends = start + timedelta(hours=2)
    # -20 % on MLK-1 in every store, now until `ends`: the labels show it and hold the
    # flip back to 3.49 at `ends` once it is `lead` (6 h) away, at once here.
    publish(world.sessions, [milk_percent_off("SPRING", "20", start, ends)], now=world.clock.now)
    await world.run_until(start + timedelta(minutes=5))
    for label_id in world.labels:
        assert world.state(label_id).held_display_at == ends

    # Nothing on S01's labels changes at the instant of Gdynia's deal.
    gdynia = _gdynia_deal_published_ahead(world, ends)
    await world.run_until(start + timedelta(minutes=10))
    for label_id in world.labels:
        assert world.state(label_id).held_display_at == ends, "S01's flip was cancelled"

    # The controller stops before that instant and is back a minute after the end.
    await world.run_until(gdynia - timedelta(minutes=1))
    world.clock.advance(ends + timedelta(minutes=1) - world.clock.now)
    verdicts = audit_by_label(world.sessions, world.clock.now)
    for label_id in world.labels:
        assert world.panel_hash(label_id) == world.hash_of(label_id), (
            f"{label_id} still shows the ended promotion: audit "
            f"{verdicts[label_id].audit_class.value}, shows {verdicts[label_id].shown_price}, "
            f"due {verdicts[label_id].due_price}"
        )


async def test_the_instant_of_a_change_that_leaves_the_label_sends_it_nothing(
    world: World,
) -> None:
    """The controller running: the publication's own instant passing re-plans the
    changes still ahead (`_plan_after_flips`). Before, the S02 deal, planned ahead,
    cancelled the flip, and at its instant the flip was planned again: two frames per
    label for nothing, and a flip lost whenever the two instants are closer than a poll
    and a delivery."""
    await world.converge()
    start = world.clock.now.replace(second=0, microsecond=0)
    ends = start + timedelta(hours=2)
    publish(world.sessions, [milk_percent_off("SPRING", "20", start, ends)], now=world.clock.now)
    await world.run_until(start + timedelta(minutes=5))
    frames_before = {label_id: world.rows(label_id) for label_id in world.labels}

    gdynia = _gdynia_deal_published_ahead(world, ends)
    await world.run_until(gdynia + timedelta(minutes=5))
    for label_id in world.labels:
        assert world.rows(label_id) == frames_before[label_id], "S01's labels were sent frames"
        assert world.state(label_id).held_display_at == ends

    await world.run_until(ends + timedelta(minutes=1))
    for label_id in world.labels:
        assert world.panel_hash(label_id) == world.hash_of(label_id)
