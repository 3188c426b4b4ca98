"""A clock behind is judged against when an answer can have been signed, not when it
arrived: every fresh answer's clock is judged (`esl.pipeline.label_clocks`), and an
acknowledgement often arrives long after it was signed (found by review).

- An OpenEPaperLink tag behind `esl gateway` has no clock: the gateway signs its answer
  with its own clock when the frame arrived, then waits for the tag to take the image (up
  to `confirm_timeout_s`, 150 s). A tag slow to take it was judged a clock behind: a
  needless SetClock, and an offset the audit flipped timed images by.
- The other way round, an acknowledgement from the broker's backlog (the controller
  restarted) was not judged at all when behind, though it was signed ten minutes before
  its frame was sent: no SetClock, no offset, and the label flipped ten minutes late while
  the audit said `match` at the instant.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from sqlalchemy import Engine, select

from esl.db.console_models import LabelActionRow
from esl.db.models import OutboxRow
from esl.pipeline.action_kinds import ActionKind
from esl.pipeline.check_ins import FLIP_GRACE
from esl.pipeline.label_actions import request_own_actions
from gateways.base import Uplink
from gateways.store_gateway.label_stand_in import answer_frame
from gateways.store_gateway.local_state import LabelRecord
from gateways.store_gateway.radio import LabelHealth, LabelRadio
from rendering.display_models import get_display_model
from rendering.encoding import Planes
from tests.pipeline.in_memory_gateway import radio
from tests.pipeline.small_world import World
from tests.support.audit import audit_by_label

CONFIRMED_AFTER = timedelta(seconds=90)  # two check-ins of a tag; under confirm_timeout_s
BEHIND = timedelta(minutes=10)
AWAY = timedelta(minutes=2)  # the controller's restart
OUT_OF_REACH = timedelta(minutes=8)  # the first sends of the timed image are lost


class SlowTagRadio(LabelRadio):
    """An OEPL access point: the tag takes the image at its next check-ins (the world's
    clock runs meanwhile)."""

    def __init__(self, world: World) -> None:
        self.world = world

    async def show(self, address: str, planes: Planes, *, model: str) -> LabelHealth:
        self.world.clock.advance(CONFIRMED_AFTER)
        return LabelHealth(battery_mv=2900)

    async def flash_led(self, address: str, *, colour: int, pattern: int, seconds: int) -> None:
        return None

    async def health(self) -> dict[str, LabelHealth]:
        return {}

    async def close(self) -> None:
        return None


async def test_an_oepl_tag_slow_to_take_its_image_gets_no_set_clock(engine: Engine) -> None:
    world = World.priced(engine, count=1)
    (label_id,) = world.labels
    model = get_display_model("2.9-bwr")  # make_fleet's model
    tag = LabelRecord(
        label_id=label_id, address=label_id, model="2.9-bwr", key=world.keys[label_id]
    )
    slow = SlowTagRadio(world)
    for _ in range(20):
        world.controller.plan_due_work()
        await world.send_due()
        sent = world.gateway.take()
        answers = []
        for downlink in sent:
            outcome = await answer_frame(
                tag,
                downlink.payload,
                radio=slow,
                model=(model.width, model.height, model.has_accent),
                now=world.clock.now,
            )
            tag = outcome.label
            if outcome.answer is not None:  # published at once, as the gateway does
                answers.append(
                    Uplink(downlink.store, downlink.gateway, outcome.answer, world.clock.now)
                )
        world.dispatcher.settle(answers)
        if not sent:
            break
        world.clock.advance(timedelta(seconds=5))
    state = world.state(label_id)
    assert state.confirmed_hash == state.desired_hash  # the tag shows its price
    with world.sessions() as session:
        actions = session.scalars(
            select(LabelActionRow.action).where(LabelActionRow.label_id == label_id)
        ).all()
    assert (list(actions), state.clock_offset_ms) == ([], None), (
        f"a clockless OEPL tag whose image was confirmed {CONFIRMED_AFTER} after the frame "
        f"came got label actions {list(actions)} and a clock offset {state.clock_offset_ms} ms"
    )


async def test_an_acknowledgement_from_the_backlog_still_shows_a_clock_behind(
    engine: Engine,
) -> None:
    world = await World.showing(engine, {"MLK-1": "3.49"}, count=1)
    (label_id,) = world.labels
    flip = world.publish_flip_with_clock_off(label_id, -BEHIND, ahead=timedelta(minutes=15))

    def after_a_restart(answers: list[Uplink]) -> list[Uplink]:
        """The controller restarts now; the answers waited in its kept session."""
        if answers:
            world.clock.advance(AWAY)
        return [replace(u, received_at=world.clock.now, resumed=True) for u in answers]

    state = await world.acknowledge_timed_image(label_id, flip, delivered=after_a_restart)
    assert state.clock_offset_ms is not None  # kept: the audit waits

    await world.run_until(flip + FLIP_GRACE + timedelta(minutes=1))
    panel = world.panel_hash(label_id)
    verdict = audit_by_label(world.sessions, world.clock.now)[label_id]
    assert (verdict.audit_class.value, panel) == ("match", world.hash_of(label_id)), (
        f"{world.clock.now - flip} after the instant: audit {verdict.audit_class.value}, "
        f"panel {'showing the due price' if panel == world.hash_of(label_id) else 'old'} "
        f"(its clock {BEHIND} behind, told in an acknowledgement signed before its frame "
        f"was sent; offset kept: {world.state(label_id).clock_offset_ms})"
    )


async def test_a_clock_behind_told_in_the_answer_to_a_retried_frame_is_set(
    engine: Engine,
) -> None:
    # Out of reach for the first 8 minutes: the timed image is sent five times, the last
    # acknowledged 9 min 25 s after it was planned. Judged against the frame's signing
    # (sent more than once), the label 10 min behind was not found behind: no SetClock,
    # and the audit said `match` after the instant while the panel kept the old price.
    world = await World.showing(engine, {"MLK-1": "3.49"}, count=1)
    (label_id,) = world.labels
    start = world.clock.now
    flip = world.publish_flip_with_clock_off(label_id, -BEHIND, ahead=timedelta(minutes=25))

    await world.acknowledge_timed_image(label_id, flip, lost_until=start + OUT_OF_REACH, rounds=400)
    with world.sessions() as session:
        (attempts,) = session.scalars(
            select(OutboxRow.attempts).where(
                OutboxRow.label_id == label_id, OutboxRow.display_at == flip
            )
        ).all()
    assert attempts > 1  # answered after repeats
    assert world.state(label_id).clock_offset_ms is not None

    await world.run_until(flip + FLIP_GRACE + timedelta(minutes=1))
    verdict = audit_by_label(world.sessions, world.clock.now)[label_id]
    due = world.hash_of(label_id)
    assert (verdict.audit_class.value, world.panel_hash(label_id)) == ("match", due)


async def test_a_check_in_behind_is_not_undone_by_a_ping_answer_in_the_same_batch(
    engine: Engine,
) -> None:
    # The check-in proves the clock behind; the ping's answer after it in the same batch
    # proves only a clock ahead, and replaced it: nothing was kept, nothing set.
    world = await World.showing(engine, {"MLK-1": "3.49"}, count=1)
    (label_id,) = world.labels
    world.labels[label_id].clock_offset_ms = -int(BEHIND / timedelta(milliseconds=1))
    world.clock.advance(BEHIND + timedelta(minutes=1))  # quiet since its clock went back
    with world.sessions() as session, session.begin():
        request_own_actions(session, [label_id], ActionKind.PING, now=world.clock.now)
    answers: list[Uplink] = []
    for _ in range(5):
        world.controller.plan_due_work()
        await world.send_due()
        taken = world.gateway.take()
        check_in = world.check_in(label_id)  # signed just before the ping reached it
        answers = radio(taken, world.labels, now=world.clock.now)
        if answers:
            break
        world.clock.advance(timedelta(seconds=1))
    assert answers, "the ping was never sent"
    world.dispatcher.settle([check_in, *answers])  # one batch of its gateway
    assert world.state(label_id).clock_offset_ms is not None
    with world.sessions() as session:
        set_clock = session.scalars(
            select(LabelActionRow.label_id).where(LabelActionRow.action == "set_clock")
        ).all()
    assert set_clock == [label_id]


async def test_a_check_in_behind_is_not_undone_by_an_acknowledgement_in_the_same_batch(
    engine: Engine,
) -> None:
    # 150 s behind: the check-in on waking proves it; the acknowledgement after it, of
    # the frame its gateway held 110 s since the only send, is bounded by that send only
    # to 40 s (under the tolerance), proves nothing, and replaced the proof (review).
    behind, asleep = timedelta(seconds=150), timedelta(seconds=110)
    world = await World.showing(engine, {"MLK-1": "3.49"}, count=1)
    (label_id,) = world.labels
    flip = world.publish_flip_with_clock_off(label_id, -behind, ahead=timedelta(minutes=25))
    world.clock.advance(behind + timedelta(minutes=1))  # quiet since its clock went back
    world.controller.plan_due_work()
    await world.send_due()
    held = world.gateway.take()
    world.clock.advance(asleep)  # under the ack timeout: nothing is sent again
    check_in = world.check_in(label_id)  # on waking; then it takes the held frame
    world.dispatcher.settle([check_in, *radio(held, world.labels, now=world.clock.now)])
    state = world.state(label_id)
    assert (state.desired_display_at, state.confirmed_hash) == (flip, state.desired_hash)
    assert state.clock_offset_ms is not None
    with world.sessions() as session:
        set_clock = session.scalars(
            select(LabelActionRow.label_id).where(LabelActionRow.action == "set_clock")
        ).all()
    assert set_clock == [label_id]
