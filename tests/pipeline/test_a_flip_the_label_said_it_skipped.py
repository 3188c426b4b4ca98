"""A timed flip the label itself said it skipped is sent again, as an immediate update.

A label acknowledges the promotion's end (3.49 from the instant) at a healthy battery;
by the instant its cell has sagged below a panel refresh (a chilled shelf), so the
simulated firmware skips the flip and keeps the promotion's 2.49. A minute after the
instant it checks in, its clock past the instant, showing 2.49. Within `FLIP_GRACE` of
the instant such a check-in is expected (a clock that lags a little, a label that flips
a moment late), and the record took its word; but the periodic pass then left out every
label with a timed plan, past or not, and the label state called it up to date: nothing
was ever planned, and the shelf kept 2.49 while the till charged 3.49
(tests/pipeline/test_console_state_against_the_audit.py shows the console's side).

Now the periodic pass plans it again once `FLIP_GRACE` has passed since the instant: the
due image is sent now, and once its cell recovers the label draws it; the simulated
panel, the record and the due price agree, and the audit calls the shelf right.

The controller and dispatcher against the simulated label speaking the real protocol,
SQLite, one test clock for both sides (tests/pipeline/small_world.py)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine

from esl.pipeline.check_ins import FLIP_GRACE, reconciliation_candidates
from esl.services.health import label_condition
from tests.pipeline.small_world import SHELF_RIGHT, World
from tests.support.audit import audit_by_label


async def test_a_flip_the_label_said_it_skipped_is_sent_again(engine: Engine) -> None:
    world = await World.showing(engine, {"MLK-1": "2.49"}, count=1)  # the promotion price
    (label_id,) = world.labels
    label = world.labels[label_id]
    before = world.state(label_id).displayed_hash
    flip = world.publish_flip_ahead("3.49", ahead=timedelta(minutes=20))  # promotion ends
    await world.acknowledge_timed_image(label_id, flip)
    label.set_battery_mv(2_200)  # below a refresh: it skips the flip
    world.clock.advance(flip + timedelta(seconds=60) - world.clock.now)
    world.dispatcher.settle([world.check_in(label_id)])  # "I show 2.49", past the instant
    world.controller.plan_due_work()
    assert world.panel_hash(label_id) == before != world.hash_of(label_id)

    with world.sessions() as session:
        # A label that flips a moment late is given the grace to say so.
        assert reconciliation_candidates(session, now=world.clock.now) == []
        assert reconciliation_candidates(session, now=flip + FLIP_GRACE) == [label_id]
        condition = label_condition(session, label_id, now=world.clock.now)
    assert condition.status.value == "pending"
    assert "said after its flip" in str(condition.reason)

    label.set_battery_mv(3_000)  # the shelf warms up: it can draw again
    reconcile_every = world.controller.settings.reconcile_every
    deadline = flip + FLIP_GRACE + reconcile_every + timedelta(minutes=1)
    while world.clock.now < deadline and world.panel_hash(label_id) != world.hash_of(label_id):
        await world.run_until(world.clock.now + timedelta(seconds=30))

    due = world.hash_of(label_id)
    state = world.state(label_id)
    assert world.panel_hash(label_id) == due, (
        f"by {world.clock.now - flip} after the instant the panel still shows the price "
        f"before (rows {world.rows(label_id)})"
    )
    assert (state.confirmed_hash, state.displayed_hash, state.held_hash) == (due, due, None)
    verdict = audit_by_label(world.sessions, world.clock.now)[label_id]
    assert verdict.audit_class.value in SHELF_RIGHT
    assert str(verdict.shown_price) == "3.49"
    with world.sessions() as session:
        assert label_condition(session, label_id, now=world.clock.now).status.value == (
            "up_to_date"
        )
