"""A label holding a timed image keeps showing what is due now and keeps its flip, through
a reset, an immediate change, a promotion that ends before the instant, and a flip nobody
heard (defects found in review of issue 13). Simulated labels, the real controller and
dispatcher, one test clock."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine, select

from esl.db.models import LedgerEntryRow
from esl.services.quotes import quote
from rendering.encoding import content_hash
from tests.pipeline.small_world import World
from tests.support.pipeline import (
    expected_planes,
    publish,
    publish_flash_promotion,
    publish_prices,
)


@pytest.fixture
def world(engine: Engine) -> World:
    return World.priced(engine, count=2)


def _shows_what_is_due(world: World, label_id: str, *, at: datetime | None = None) -> bool:
    """The panel, after its refresh (and its own timer), against the reference render."""
    at = at or world.clock.now + timedelta(seconds=30)
    label = world.labels[label_id]
    label.synchronize(now=at)
    with world.sessions() as session:
        return label.shown == expected_planes(session, label_id=label_id, sku=world.sku, at=at)


# Conditional: the shelf price stays (no ledger entry), the label adds "2+1".
TWO_PLUS_ONE = {"kind": "buy_n_get_m", "quantity": 2, "free_quantity": 1}


async def test_a_label_reset_while_it_holds_a_flip_gets_the_image_of_now_and_the_flip_again(
    world: World,
) -> None:
    label_id = sorted(world.labels)[0]
    await world.converge()
    backup = world.back_up(label_id)  # shows price A
    world.clock.advance(timedelta(minutes=1))
    publish_prices(world.sessions, {"MLK-1": "3.19"}, now=world.clock.now)
    await world.converge()
    flip = world.publish_flip_ahead()
    await world.converge()
    assert _shows_what_is_due(world, label_id)

    # Restored from an old backup: shows an old price, holds no flip.
    world.restore(label_id, backup)
    world.clock.advance(timedelta(minutes=1))
    world.dispatcher.settle([world.check_in(label_id, at=world.clock.now)])
    assert world.dispatcher.counts.reconciled == 1
    await world.converge()
    assert _shows_what_is_due(world, label_id)  # the price of now, not the backup's
    world.clock.now = flip + timedelta(seconds=1)
    assert _shows_what_is_due(world, label_id, at=world.clock.now)  # and it flipped


async def test_the_periodic_pass_repairs_the_record_of_a_label_holding_a_flip(
    world: World,
) -> None:
    label_id = sorted(world.labels)[0]
    await world.converge()
    flip = world.publish_flip_ahead()
    await world.converge()
    world.corrupt_record(label_id)
    world.clock.advance(world.controller.settings.reconcile_every)
    await world.converge()
    state = world.state(label_id)
    assert state.displayed_hash == world.hash_of(label_id)  # the image of now
    assert state.confirmed_hash == state.desired_hash  # and the flip, held
    assert _shows_what_is_due(world, label_id)
    world.clock.now = flip + timedelta(seconds=1)
    assert _shows_what_is_due(world, label_id, at=world.clock.now)


async def test_an_immediate_change_that_writes_no_price_keeps_the_flip_held(
    world: World,
) -> None:
    await world.converge()
    flip = world.publish_flip_ahead()
    await world.converge()
    # An immediate publication whose clock is a little behind the controller's (or whose
    # transaction spanned a poll): its labels are planned at now and must keep the flip.
    world.clock.advance(timedelta(minutes=1))
    world.controller.plan_due_work()
    publish_flash_promotion(
        world.sessions, now=world.clock.now - timedelta(seconds=5), **TWO_PLUS_ONE
    )
    await world.converge()
    for label_id in world.labels:
        assert _shows_what_is_due(world, label_id)  # the promotion, now
    world.clock.now = flip + timedelta(seconds=1)
    for label_id in world.labels:
        assert _shows_what_is_due(world, label_id, at=world.clock.now)  # 2.49 -20 %


async def test_a_promotion_that_ends_before_the_flip_leaves_the_shelf_when_it_ends(
    world: World,
) -> None:
    await world.converge()
    ends = (world.clock.now + timedelta(minutes=20)).replace(microsecond=0)
    world.clock.advance(timedelta(minutes=1))
    publish_flash_promotion(
        world.sessions,
        now=world.clock.now,
        kind="percent_off",
        percent="20",
        valid_until=ends.isoformat(),
    )
    await world.converge()
    flip = world.publish_flip_ahead()
    await world.converge()
    for label_id in world.labels:
        assert _shows_what_is_due(world, label_id)  # the promotion
    world.clock.now = ends + world.controller.settings.replan_every
    await world.converge()
    for label_id in world.labels:
        assert _shows_what_is_due(world, label_id)  # the promotion is over
    world.clock.now = flip + timedelta(seconds=1)
    for label_id in world.labels:
        assert _shows_what_is_due(world, label_id, at=world.clock.now)


async def test_a_label_that_flipped_unheard_is_not_sent_its_image_again(world: World) -> None:
    label_id = sorted(world.labels)[0]
    await world.converge()
    flip = world.publish_flip_ahead()
    await world.converge()
    sent_before = len(world.rows(label_id))
    # Its check-in from just before the instant arrives late, settled after the grace.
    late = world.check_in(label_id, at=flip - timedelta(seconds=20))
    world.clock.now = flip + timedelta(minutes=10)
    world.dispatcher.settle([late])
    assert world.dispatcher.counts.reconciled == 0
    world.clock.now += world.controller.settings.reconcile_every
    world.controller.plan_due_work()
    assert len(world.rows(label_id)) == sent_before  # nothing sent again
    assert _shows_what_is_due(world, label_id, at=world.clock.now)


@pytest.mark.parametrize("instead", ["3.49", "2.79"], ids=["cancelled", "corrected"])
async def test_a_flip_corrected_before_its_instant_never_shows_the_price_it_replaced(
    world: World, instead: str
) -> None:
    """MLK-1 at 2.49 published for 50 minutes ahead and held by every label, then, before
    its instant, published again for that instant at `instead` (the old 3.49: the change
    cancelled). Before, the correction was refused (`ledger_order`, the ledger already
    ran to the instant) and the shelves flipped to 2.49; now the labels are planned again
    before the instant, no panel flips to 2.49 on its own clock nor shows it after, and the
    ledger records only `instead`."""
    await world.converge()
    flip = world.publish_flip_ahead("2.49")
    await world.converge()
    with world.sessions() as session:
        mistaken = {
            label_id: content_hash(
                expected_planes(session, label_id=label_id, sku=world.sku, at=flip)
            ).hex()
            for label_id in world.labels
        }
    assert all(world.state(label_id).desired_display_at == flip for label_id in world.labels)

    world.clock.advance(timedelta(minutes=1))
    publish_prices(world.sessions, {"MLK-1": instead}, now=world.clock.now, effective_at=flip)
    await world.converge()
    # The instant, on the labels' own clocks, before the controller hears of it.
    world.clock.now = flip + timedelta(seconds=1)
    for label_id in world.labels:
        assert world.panel_hash(label_id) != mistaken[label_id]
        assert _shows_what_is_due(world, label_id, at=world.clock.now)
    await world.run_until(flip + timedelta(minutes=5))
    for label_id in world.labels:
        assert _shows_what_is_due(world, label_id, at=world.clock.now)
    with world.sessions() as session:
        shelf_at_flip = session.scalars(
            select(LedgerEntryRow.amount).where(
                LedgerEntryRow.sku == "MLK-1",
                LedgerEntryRow.channel == "store",
                LedgerEntryRow.store == "S01",
                LedgerEntryRow.effective_at == flip,
            )
        ).all()
    assert shelf_at_flip == ([] if instead == "3.49" else [Decimal(instead)])


async def test_a_shelf_brought_into_a_rise_ahead_flips_at_its_instant(world: World) -> None:
    """S01 sells MLK-1 at its own price, the national one too; a national rise to 3.99 is
    published 50 minutes ahead (S01 keeps its own price: the rise names neither its ledger
    nor its shelf); then S01's own price is ended now. From the rise's instant S01 charges
    3.99, so its labels flip then, by the timed image planned with the end_price. Before,
    nothing planned them for the instant: both kept the old price for ~8 minutes, until
    the periodic re-plan (docs/pricing.md "Which changes reach labels")."""
    await world.converge()
    with world.sessions() as session:
        national = quote(
            session,
            sku="MLK-1",
            store="S01",
            channel="store",
            at=world.clock.now,
            now=world.clock.now,
            locale="pl_PL",
            currency="PLN",
        ).price.amount
    world.clock.advance(timedelta(minutes=1))
    publish_prices(world.sessions, {"MLK-1": str(national)}, now=world.clock.now, store="S01")
    await world.converge()
    world.clock.advance(timedelta(minutes=1))
    flip = world.publish_flip_ahead("3.99")
    await world.converge()
    world.clock.advance(timedelta(minutes=1))
    publish(
        world.sessions,
        [{"action": "end_price", "sku": "MLK-1", "store": "S01"}],
        now=world.clock.now,
    )
    await world.converge()
    # The controller runs its rounds as usual up to the instant.
    await world.run_until(flip - timedelta(seconds=5))
    world.clock.now = flip + timedelta(seconds=1)
    late = [lid for lid in world.labels if not _shows_what_is_due(world, lid, at=world.clock.now)]
    wrong_for = timedelta(0)
    while world.clock.now < flip + timedelta(minutes=20):
        await world.run_until(world.clock.now + timedelta(seconds=5), step=timedelta(seconds=5))
        if any(not _shows_what_is_due(world, lid, at=world.clock.now) for lid in world.labels):
            wrong_for = world.clock.now - flip
    assert (late, wrong_for) == ([], timedelta(0)), (
        f"not showing 3.99 at the instant: {late}; still wrong {wrong_for} after it"
    )
