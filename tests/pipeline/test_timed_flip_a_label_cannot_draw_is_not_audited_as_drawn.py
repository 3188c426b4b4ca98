"""A timed flip the label cannot draw, audited as drawn (a review's finding, BLE path).

A label heard only through its answers (a BLE label: no check-ins) acknowledges a
Display Timed Image with a healthy battery; by the instant its battery is below what a
panel refresh needs (the simulated firmware then skips the flip and sets *service
needed*). Its panel keeps the price before. The controller records the held flip as
shown once the instant passed (`esl.services.panel_image`, `PanelSource.FLIPPED`) and
the audit said `match` until the next keep-alive ping was answered (up to
`ESL_LABEL_OFFLINE_AFTER_S` minus a margin later). Here the flip ends a promotion: the
shelf keeps the promotion's lower price while the till charges the regular one (PL act
art. 5: the customer may demand the lower), and the audit called the shelf right. Now
it says `unconfirmed` from the instant until the label is heard, and the label is pinged
`FLIP_CHECKED_AFTER` the instant (`esl.pipeline.label_keepalive`).

The controller and dispatcher against the simulated label speaking the real protocol,
SQLite, one test clock for both sides (tests/pipeline/small_world.py)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine

from esl.pipeline.controller import KEEPALIVE_LOOK_EVERY
from esl.pipeline.label_keepalive import FLIP_CHECKED_AFTER
from tests.pipeline.small_world import World
from tests.support.audit import audit_by_label


async def test_a_label_that_cannot_draw_is_not_audited_as_flipped(engine: Engine) -> None:
    world = await World.showing(engine, {"MLK-1": "2.49"}, count=1)  # the promotion price
    (label_id,) = world.labels
    label = world.labels[label_id]
    flip = world.publish_flip_ahead("3.49", ahead=timedelta(minutes=20))  # promotion ends
    state = await world.acknowledge_timed_image(label_id, flip)  # at a healthy battery
    assert state.held_display_at == flip
    # Then, before the instant, its cell sags (a chilled shelf): above brown-out (it
    # hears and answers), below what a panel refresh needs. Nothing tells the controller
    # until it next hears the label.
    label.set_battery_mv(2_200)

    found = await world.false_matches(label_id, until=flip + timedelta(minutes=25))
    assert label.shown is not None
    assert world.panel_hash(label_id) != world.hash_of(label_id)  # it never drew 3.49
    assert not found, (
        f"the label's panel kept 2.49 (it acknowledged the timed 3.49, then its battery "
        f"fell to {label.battery_mv} mV, below a refresh: no flip at the instant), "
        f"while the audit called the shelf right {len(found)} times: {found[:3]} ..."
    )


async def test_a_label_without_check_ins_is_asked_soon_after_its_flip(engine: Engine) -> None:
    """Its keep-alive would come up to 27 minutes later: a ping `FLIP_CHECKED_AFTER` the
    instant asks it, its answer shows the price before, and the controller, seeing the
    flip not drawn, sends the due image again (refused for the battery: `low_battery`)."""
    world = await World.showing(engine, {"MLK-1": "2.49"}, count=1)
    (label_id,) = world.labels
    flip = world.publish_flip_ahead("3.49", ahead=timedelta(minutes=20))
    before = world.state(label_id).displayed_hash
    await world.acknowledge_timed_image(label_id, flip)
    world.labels[label_id].set_battery_mv(2_200)

    await world.run_until(flip + FLIP_CHECKED_AFTER / 2)
    assert audit_by_label(world.sessions, world.clock.now)[label_id].audit_class.value == (
        "unconfirmed"
    )
    await world.run_until(flip + FLIP_CHECKED_AFTER + KEEPALIVE_LOOK_EVERY * 2)
    state = world.state(label_id)
    assert (state.held_hash, state.displayed_hash) == (None, before)  # heard: no flip
    verdict = audit_by_label(world.sessions, world.clock.now)[label_id]
    assert verdict.audit_class.value == "low_battery"
    assert not verdict.shows_due
    assert [status for _, status in world.rows(label_id)][-1] in ("pending", "sent", "parked")
