"""A label heard only through its answers (no check-ins: a BLE label, a self-signing
label behind `esl gateway`, `esl sim gateway` without --report-check-ins) flips a timed
price on its own clock, which every signed answer carries. Only check-ins were judged:
a label ten minutes behind acknowledged a timed image with its clock in the answer,
nobody set it, and minutes after the instant the audit called it flipped (`match`) while
its panel kept the old price for ten more; one ten minutes ahead flipped ten minutes
early while the audit said `match` on the price of now (found by review). Now every
fresh believed answer's clock is judged (`esl.pipeline.label_clocks`) and, until the
SetClock is answered, the audit counts the flip by the clock the label told
(`esl.services.panel_image`). The controller and dispatcher against simulated labels
speaking the real protocol, SQLite, one test clock for both sides."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine

from esl.db.models import LabelStateRow
from esl.pipeline.check_ins import FLIP_GRACE
from esl.services.health import label_conditions
from esl.services.panel_image import PanelSource
from esl.ui.shelf_views import label_panel
from rendering.encoding import content_hash
from tests.pipeline.small_world import World
from tests.support.audit import audit_by_label

BEHIND = timedelta(minutes=10)


async def test_a_label_clock_behind_is_not_called_flipped_at_the_instant(engine: Engine) -> None:
    world = await World.showing(engine, {"MLK-1": "3.49"}, count=1)
    (label_id,) = world.labels
    flip = world.publish_flip_with_clock_off(label_id, -BEHIND, ahead=timedelta(minutes=15))
    await world.converge()  # the timed image sent and acknowledged (flip pending)
    assert world.state(label_id).desired_display_at is not None

    # Past the instant and its grace; the controller keeps running its rounds.
    await world.run_until(flip + FLIP_GRACE + timedelta(minutes=1))
    panel = world.panel_hash(label_id)  # whatever is due on the label's own clock happens
    due = world.hash_of(label_id)
    verdict = audit_by_label(world.sessions, world.clock.now)[label_id]
    assert not (verdict.audit_class.value == "match" and panel != due), (
        f"{world.clock.now - flip} after the instant the audit says "
        f"{verdict.audit_class.value} (shows due: {verdict.shows_due}) while the panel "
        f"still shows the old price (its clock {BEHIND} behind, told in its signed "
        f"answer, never set)"
    )
    # Its clock set from that answer, it flipped at the instant.
    assert (panel, verdict.audit_class.value) == (due, "match")


async def test_a_label_clock_ahead_is_not_called_right_while_it_shows_the_next_price(
    engine: Engine,
) -> None:
    """The mirror case: ten minutes ahead (told in the acknowledgement of the timed image
    itself), the label flips ten minutes early; the audit calls the shelf `match` on the
    price of now while the panel shows the next one and the till charges the old one."""
    world = await World.showing(engine, {"MLK-1": "3.49"}, count=1)
    (label_id,) = world.labels
    flip = world.publish_flip_with_clock_off(label_id, BEHIND, ahead=timedelta(minutes=30))
    await world.converge()
    await world.run_until(flip - timedelta(minutes=5))
    panel = world.panel_hash(label_id)
    due = world.hash_of(label_id)
    verdict = audit_by_label(world.sessions, world.clock.now)[label_id]
    assert not (verdict.audit_class.value == "match" and panel != due), (
        f"{flip - world.clock.now} before the instant the audit says "
        f"{verdict.audit_class.value} while the panel already shows the next price (its "
        f"clock {BEHIND} ahead, told in its signed answer, never set)"
    )
    # Its clock set from that answer, it still shows the price of now.
    assert (panel, verdict.audit_class.value) == (due, "match")


async def test_a_label_whose_clock_is_not_set_yet_is_audited_by_the_clock_it_told(
    engine: Engine,
) -> None:
    """The SetClock never reaches it (out of reach right after its acknowledgement): until
    its clock is set, the audit and the console count its flip at the instant its own
    clock, as its answer told, reaches: `stale` before, `unconfirmed` from then on (counted
    flipped, never heard so: out of reach)."""
    world = await World.showing(engine, {"MLK-1": "3.49"}, count=1)
    (label_id,) = world.labels
    label = world.labels[label_id]
    flip = world.publish_flip_with_clock_off(label_id, -BEHIND, ahead=timedelta(minutes=15))
    state = await world.acknowledge_timed_image(label_id, flip)  # with the label's clock
    assert state.clock_offset_ms == -BEHIND // timedelta(milliseconds=1)

    def audit_at(instant: datetime) -> tuple[str, str, PanelSource, str]:
        """Out of reach: every round's frames (its SetClock) are lost."""
        while world.clock.now < instant:
            world.clock.advance(timedelta(seconds=30))
            world.controller.plan_due_work()
            world.dispatcher.step()
            world.gateway.take()
        label.state(now=world.clock.now)
        assert label.shown is not None
        verdict = audit_by_label(world.sessions, world.clock.now)[label_id]
        with world.sessions() as session:
            panel = label_panel(session, session.get(LabelStateRow, label_id), now=world.clock.now)
            # The status word of `esl label show`, health and the console.
            (row,) = label_conditions(session, now=world.clock.now, label_ids=[label_id])
        assert panel.shown == content_hash(label.shown).hex()  # the console draws the panel
        return verdict.audit_class.value, panel.shown, panel.source, row.condition.status.value

    old = world.state(label_id).displayed_hash
    # Its flip still ahead on its clock: not shown yet, and still "scheduled" (it said
    # "up_to_date" at the instant on the controller's clock).
    assert audit_at(flip + FLIP_GRACE + timedelta(minutes=1)) == (
        "stale",
        old,
        PanelSource.REPORTED,
        "scheduled",
    )
    audit_class, shown, source, status = audit_at(flip + BEHIND + timedelta(seconds=30))
    # Counted flipped, not heard (out of reach): not `match` on that count alone, nor
    # "up to date" (tests/pipeline/test_console_state_against_the_audit.py).
    assert (audit_class, source, status) == ("unconfirmed", PanelSource.FLIPPED, "pending")
    assert shown == world.hash_of(label_id) != old
