"""Review (truth, BLE path): a timed flip the label cannot draw, audited as drawn.

A label heard only through its answers (a BLE label: no check-ins) acknowledges a
Display Timed Image with a healthy battery; by the instant its battery is below what a
panel refresh needs (the simulated firmware then skips the flip and sets *service
needed*). Its panel keeps the price before. The controller records the held flip as
shown once the instant passed (`esl.services.panel_image`, `PanelSource.FLIPPED`) and
the audit says `match` until the next keep-alive ping is answered (up to
`ESL_LABEL_OFFLINE_AFTER_S` minus a margin later). Here the flip ends a promotion: the
shelf keeps the promotion's lower price while the till charges the regular one (PL act
art. 5: the customer may demand the lower), and the audit calls the shelf right.

The controller and dispatcher against the simulated label speaking the real protocol,
SQLite, one test clock for both sides (tests/pipeline/small_world.py)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine

from tests.pipeline.small_world import World


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
