"""A SetClock delivered late sets the label's clock behind by as much: a store gateway
held it for a label out of reach and delivered it five minutes after it was signed.

The label sets its clock to the instant the SetClock names (when the controller signed
it) and answers right then, so its answer reads that instant and arrives five minutes
after it. Counted as a label action's answer (which proves only a clock ahead), it left
the record saying the clock was right while it ran five minutes behind: the label,
holding a timed price, flipped five minutes late, and meanwhile the audit said `match`
("shows 2.49, due 2.49") on a shelf showing 3.49. Now a SetClock's acknowledgement is
judged against its arrival, as a check-in is: the clock is taken as behind by its lag,
the most it can be, and the audit waits that long for the flip.

And the clock is set again at once (`label_clocks.request_clock_settings`): before, the
next SetClock waited the hour after the late one, so a flip due meanwhile came five
minutes late on the shelf (the audit said `stale`, the customer could claim the lower
price). The controller and dispatcher against simulated labels speaking the real
protocol, SQLite, one test clock for both sides (as tests/pipeline/test_label_clocks.py)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, select

from esl.db.console_models import LabelActionRow
from esl.pipeline.action_kinds import ActionKind
from esl.services.label_actions import request_action
from gateways.base import Downlink
from tests.pipeline.in_memory_gateway import radio
from tests.pipeline.small_world import World
from tests.support.audit import audit_by_label
from tests.support.pipeline import ADMIN

_HELD_FOR = timedelta(minutes=5)
_MS = timedelta(milliseconds=1)


async def _staff_set_clock_delivered_late(world: World, label_id: str) -> None:
    """Staff set `label_id`'s clock (right already); the SetClock is signed and sent, and
    the store gateway holds it `_HELD_FOR` before the label takes it and answers."""
    with world.sessions.begin() as session:
        request_action(
            session,
            principal=ADMIN,
            label_id=label_id,
            kind=ActionKind.SET_CLOCK,
            now=world.clock.now,
        )
    held: list[Downlink] = []
    while not held:  # label actions are looked for every few hundred milliseconds
        world.clock.advance(timedelta(seconds=1))
        world.controller.plan_due_work()
        await world.send_due()
        held = world.gateway.take()
    assert [d.label_id for d in held] == [label_id]
    world.clock.advance(_HELD_FOR)
    world.dispatcher.settle(radio(held, world.labels, now=world.clock.now))


async def test_a_set_clock_delivered_late_is_not_taken_for_a_clock_set_right(
    engine: Engine,
) -> None:
    world = World.priced(engine, count=2)
    await world.converge()
    flip = world.publish_flip_ahead()  # 3.49 -> 2.49 in 50 minutes
    await world.converge()  # both labels hold the flip, their clocks right
    label_id = sorted(world.labels)[0]

    await _staff_set_clock_delivered_late(world, label_id)
    label_clock_ms = world.labels[label_id].clock_offset_ms
    assert label_clock_ms <= -_HELD_FOR / _MS  # five minutes behind
    # The record: the clock behind by the answer's lag behind its arrival, the most it can
    # be (the label's own lag, or more), until the SetClock asked at once answers.
    recorded_ms = world.state(label_id).clock_offset_ms
    assert recorded_ms is not None
    assert recorded_ms <= label_clock_ms
    # The label out of reach from now on (the SetClock asked at once is lost on the way),
    # so it flips five minutes late on its own clock. From before the instant until well
    # past that late flip, minute by minute: the audit never calls the shelf right while
    # its panel shows other than the due price.
    world.clock.now = flip - timedelta(minutes=1)
    lost = {label_id}
    assert await world.false_matches(label_id, until=flip + _HELD_FOR / 2, out_of_reach=lost) == []
    assert world.panel_hash(label_id) != world.hash_of(label_id), "the flip came on time"
    later = flip + _HELD_FOR + timedelta(minutes=2)
    assert await world.false_matches(label_id, until=later, out_of_reach=lost) == []

    # The label flipped; panel, record and due agree (the audit calls it offline: the
    # SetClock asked again is unanswered; not heard after its flip, it is not counted
    # right); back in reach, it is set and called right.
    due = world.hash_of(label_id)
    assert world.panel_hash(label_id) == world.state(label_id).confirmed_hash == due
    assert not audit_by_label(world.sessions, world.clock.now)[label_id].shows_due
    world.dispatcher.settle([world.check_in(label_id)])  # back in reach: its clock behind
    assert audit_by_label(world.sessions, world.clock.now)[label_id].shows_due
    await world.run_until(world.clock.now + timedelta(minutes=2))
    assert world.state(label_id).clock_offset_ms is None  # set again, answered in time
    assert world.panel_hash(label_id) == world.state(label_id).confirmed_hash == due
    assert audit_by_label(world.sessions, world.clock.now)[label_id].audit_class.value == "match"


async def test_after_a_set_clock_delivered_late_the_clock_is_set_again_and_flips_on_time(
    engine: Engine,
) -> None:
    world = World.priced(engine, count=2)
    await world.converge()
    # 3.49 -> 2.49 in ten minutes: due five minutes after the late SetClock's answer.
    flip = world.publish_flip_ahead(ahead=timedelta(minutes=10))
    await world.converge()
    label_id = sorted(world.labels)[0]
    await _staff_set_clock_delivered_late(world, label_id)
    assert world.labels[label_id].clock_offset_ms <= -_HELD_FOR / _MS  # five minutes behind

    # Minute by minute around the flip, the world running: the price the panel shows (on
    # the label's own clock), the one the controller records it showing (the audit's),
    # and the one due.
    price_of: dict[str | None, str] = {}  # a due image's hash -> its price
    disagreeing: list[str] = []
    for minute in range(-4, 6):
        await world.run_until(
            flip + timedelta(minutes=minute, seconds=30), step=timedelta(seconds=10)
        )
        verdict = audit_by_label(world.sessions, world.clock.now)[label_id]
        due, recorded = str(verdict.due_price), str(verdict.shown_price)
        price_of[world.hash_of(label_id)] = due
        panel = price_of.get(world.panel_hash(label_id), "another image")
        if not panel == recorded == due:
            disagreeing.append(
                f"flip {minute:+d} min: panel {panel}, recorded {recorded}, due {due}"
            )
    # The shelf shows the due price every minute, the flip on time, and the record says so.
    assert disagreeing == []
    assert world.state(label_id).clock_offset_ms is None
    assert abs(world.labels[label_id].clock_offset_ms) < _HELD_FOR / _MS / 5

    # One SetClock of the controller's set it again, answered.
    with world.sessions() as session:
        set_clocks = session.execute(
            select(LabelActionRow.requested_by, LabelActionRow.status)
            .where(LabelActionRow.action == ActionKind.SET_CLOCK.value)
            .order_by(LabelActionRow.id)
        ).all()
    assert [tuple(row) for row in set_clocks] == [
        (ADMIN.name, "answered"),
        ("controller", "answered"),
    ]
