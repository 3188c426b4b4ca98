"""Flash, ping and refresh a person asks for travel as signed frames through the gateway,
and the label's answer is recorded with the action."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, select

from esl.db.console_models import LabelActionRow
from esl.db.models import LabelAcknowledgementRow, LabelRow, OutboxRow, SecurityEventRow
from esl.services.keys import Principal, Role
from esl.services.label_actions import ActionKind, request_action
from esl.settings import Settings
from firmware_sim.label import SimulatedLabel
from gateways.base import Uplink
from gateways.protocol import ReasonCode, decode_response, encode_response
from gateways.protocol.commands import Opcode
from tests.pipeline.in_memory_gateway import radio
from tests.pipeline.small_world import World
from tests.support.label_answers import synchronized_answer
from tests.support.pipeline import ADMIN


@pytest.fixture
def world(engine: Engine) -> World:
    return World.priced(engine, count=2)


def _ask(world: World, label_id: str, kind: ActionKind, who: Principal = ADMIN) -> int:
    with world.sessions.begin() as session:
        return request_action(
            session, principal=who, label_id=label_id, kind=kind, now=world.clock.now
        ).id


def _action(world: World, action_id: int) -> LabelActionRow:
    with world.sessions() as session:
        row = session.get(LabelActionRow, action_id)
        assert row is not None
        session.expunge(row)
        return row


def _led_on(label: SimulatedLabel, world: World) -> bool:
    now_ms = int(world.clock.now.timestamp() * 1000)
    return label.led_until_ms > now_ms


async def _round(world: World) -> int:
    """One dispatcher round over the radio; how many frames travelled."""
    world.clock.advance(timedelta(seconds=1))
    await world.send_due()
    sent = world.gateway.take()
    world.dispatcher.settle(radio(sent, world.labels, now=world.clock.now))
    return len(sent)


async def test_a_flash_reaches_the_label_and_its_answer_is_recorded(world: World) -> None:
    await world.converge()
    label_id = sorted(world.labels)[0]
    label = world.labels[label_id]
    assert not _led_on(label, world)
    action_id = _ask(world, label_id, ActionKind.FLASH)
    assert _action(world, action_id).status == "requested"
    assert await _round(world) == 1
    # The label is still refreshing its panel from the update: busy, asked again later.
    action = _action(world, action_id)
    assert action.status == "requested"
    assert action.detail == "the label is busy (RETRY), asking again"
    assert not _led_on(label, world)
    world.clock.advance(timedelta(seconds=20))
    assert await _round(world) == 1
    assert _led_on(label, world)
    action = _action(world, action_id)
    assert (action.status, action.reason, action.led_on) == ("answered", "SUCCESS", True)
    assert action.detail == "the LED is flashing"
    assert action.battery_mv == label.battery_mv
    with world.sessions() as session:
        history = session.scalars(
            select(LabelAcknowledgementRow.sequence).where(
                LabelAcknowledgementRow.label_id == label_id
            )
        ).all()
    assert action.sequence in history  # part of the label's history like any answer
    # The other label was not asked.
    other = sorted(world.labels)[1]
    assert not _led_on(world.labels[other], world)


async def test_a_ping_answers_with_battery_and_signal(world: World) -> None:
    await world.converge()
    label_id = sorted(world.labels)[1]
    world.clock.advance(timedelta(seconds=20))  # its panel refresh is over
    action_id = _ask(world, label_id, ActionKind.PING)
    await _round(world)
    action = _action(world, action_id)
    assert action.status == "answered"
    assert action.detail == f"alive: {action.battery_mv} mV, {action.rssi_dbm} dBm"


async def test_an_update_waiting_to_be_sent_still_reaches_a_label_flashed_first(
    world: World,
) -> None:
    """The flash takes a later sequence than the update already signed: the update is
    signed again after it, so the label does not refuse it as stale."""
    label_id = sorted(world.labels)[0]
    world.controller.plan_due_work()  # the update is pending, not sent yet
    action_id = _ask(world, label_id, ActionKind.FLASH)
    # Only the flash goes out first when the window is full of nothing else: send both.
    await world.converge()
    assert _action(world, action_id).status == "answered"
    assert world.state(label_id).confirmed_hash == world.hash_of(label_id)
    assert {status for _, status in world.rows(label_id)} == {"acked"}


async def test_a_refresh_sends_the_image_again_then_has_the_panel_drawn(world: World) -> None:
    """The image travels again (the record may be wrong), and the label, which does not
    redraw an image it already shows, is told to draw it: the panel is drawn once."""
    await world.converge()
    label_id = sorted(world.labels)[0]
    label = world.labels[label_id]
    sent_before, drawn_before = len(world.rows(label_id)), label.refreshes
    action_id = _ask(world, label_id, ActionKind.REFRESH)
    await _round(world)
    assert _action(world, action_id).status == "sent"
    await world.converge()
    await _round(world)
    await _settle_actions(world)
    assert len(world.rows(label_id)) == sent_before + 1  # one image frame, acknowledged
    action = _action(world, action_id)
    assert (action.status, action.detail) == ("answered", "the label drew its image again")
    assert label.refreshes == drawn_before + 1
    assert label.shown_hash.hex() == world.state(label_id).confirmed_hash == world.hash_of(label_id)


async def test_a_refresh_a_label_has_no_battery_for_is_answered_with_that_at_once(
    world: World,
) -> None:
    """Its image is already on the panel (acknowledged without drawing); drawing it again
    is refused for the battery. The person is told so after one try: asking again every
    few seconds would drain the battery further and end as "stayed busy"."""
    await world.converge()
    label_id = sorted(world.labels)[0]
    label = world.labels[label_id]
    world.clock.advance(timedelta(seconds=20))  # its panel refresh is over
    label.set_battery_mv(2_300)  # above brown-out, below what a refresh needs (2.4 V)
    drawn_before = label.refreshes
    action_id = _ask(world, label_id, ActionKind.REFRESH)
    await _round(world)
    await world.converge()  # its image, planned again and acknowledged
    await _settle_actions(world)
    action = _action(world, action_id)
    assert (action.status, action.reason) == ("answered", "INSUFFICIENT_BATTERY")
    assert action.detail == "the label refused: INSUFFICIENT_BATTERY"
    assert (action.battery_mv or 0) < 2_400
    assert label.refreshes == drawn_before  # nothing drawn, nothing drained by drawing


async def _settle_actions(world: World) -> None:
    """Dispatcher rounds until no action is open (a busy label is asked again later)."""
    for _ in range(30):
        with world.sessions() as session:
            open_actions = session.scalars(
                select(LabelActionRow.id).where(LabelActionRow.status.in_(["requested", "sent"]))
            ).all()
        if not open_actions:
            return
        world.clock.advance(timedelta(seconds=5))
        await _round(world)
    raise AssertionError(f"actions {open_actions} still open")


async def test_a_check_in_between_the_request_and_its_image_does_not_answer_a_refresh(
    world: World,
) -> None:
    """The label checks in (saying what it shows) after the refresh was taken up and
    before its image was planned: the whole image still travels, and only the label's
    acknowledgement of it answers the action, never the check-in."""
    await world.converge()
    label_id = sorted(world.labels)[0]
    label = world.labels[label_id]
    world.clock.advance(timedelta(seconds=20))  # its panel refresh is over
    sent_before = len(world.rows(label_id))
    action_id = _ask(world, label_id, ActionKind.REFRESH)
    world.clock.advance(timedelta(seconds=1))
    await world.send_due()  # the refresh is taken up: its image is to be planned again
    assert _action(world, action_id).status == "sent"
    report = label.status_report(now=world.clock.now)
    assert report is not None
    world.dispatcher.settle([Uplink("S01", "gw1", report, world.clock.now)])
    await world.send_due()
    assert _action(world, action_id).status == "sent"  # the check-in answers nothing
    world.controller.plan_due_work()
    with world.sessions() as session:
        planned = session.scalars(
            select(OutboxRow.base_hash)
            .where(OutboxRow.label_id == label_id)
            .order_by(OutboxRow.sequence.desc())
        ).all()
    assert len(planned) == sent_before + 1
    assert planned[0] is None  # a whole image, not a delta against what it showed
    await world.send_due()
    assert _action(world, action_id).status == "sent"  # planned and sent, not yet answered
    await world.converge()
    await _settle_actions(world)
    assert world.rows(label_id)[-1][1] == "acked"
    action = _action(world, action_id)
    assert (action.status, action.detail) == ("answered", "the label drew its image again")
    assert world.state(label_id).confirmed_hash == world.hash_of(label_id)


async def test_an_image_planned_by_a_pass_begun_before_the_request_answers_the_refresh(
    world: World,
) -> None:
    """A planning pass stamps its frames with the instant it began: when the refresh was
    taken up while the pass ran, the image that pass planned for it is still the one
    that answers it, once acknowledged (not left "unanswered" after it was drawn)."""
    await world.converge()
    label_id = sorted(world.labels)[0]
    world.clock.advance(timedelta(seconds=20))  # its panel refresh is over
    action_id = _ask(world, label_id, ActionKind.REFRESH)
    pass_began = world.clock.now
    world.clock.advance(timedelta(seconds=1))
    await world.send_due()  # taken up while the pass that began before is running
    assert _action(world, action_id).status == "sent"
    world.clock.now = pass_began
    assert world.controller.plan_due_work() == 1  # the image, stamped with the pass's instant
    world.clock.now = pass_began + timedelta(seconds=2)
    await world.converge()
    await _settle_actions(world)
    assert world.rows(label_id)[-1][1] == "acked"
    action = _action(world, action_id)
    assert (action.status, action.detail) == ("answered", "the label drew its image again")


async def test_an_update_still_in_the_air_keeps_its_sequence_when_a_flash_goes_first(
    world: World,
) -> None:
    """An update sent once and unanswered in time waits to be sent again, while its first
    copy may still reach the label (a store gateway keeps a frame for the label's next
    check-ins). A flash then takes the next sequence and the update is signed again
    after it: as a new row, the first one superseded, so the label's answer to the copy
    in the air names a frame the controller signed. Signed again in place, that answer
    was refused as "never signed" and what the label showed was not believed."""
    label_id = sorted(world.labels)[0]
    world.controller.plan_due_work()
    await world.send_due()
    in_the_air = [d for d in world.gateway.take() if d.label_id == label_id]
    assert len(in_the_air) == 1
    first_sequence = world.rows(label_id)[0][0]
    # Unanswered in time: back to pending, to be sent again after a backoff.
    world.clock.advance(world.dispatcher.policy.ack_timeout + timedelta(seconds=1))
    await world.send_due()
    assert world.rows(label_id) == [(first_sequence, "pending")]

    action_id = _ask(world, label_id, ActionKind.FLASH)
    world.clock.advance(timedelta(seconds=1))
    await world.send_due()
    flash = [d for d in world.gateway.take() if d.label_id == label_id]
    flash_sequence = _action(world, action_id).sequence
    assert flash_sequence == first_sequence + 1
    assert world.rows(label_id) == [
        (first_sequence, "superseded"),
        (flash_sequence + 1, "pending"),
    ]

    # The first copy arrives after all, then the flash.
    world.dispatcher.settle(radio(in_the_air + flash, world.labels, now=world.clock.now))
    assert "UNSIGNED_SEQUENCE" not in world.dispatcher.counts.refused_answers
    assert world.state(label_id).displayed_hash == world.hash_of(label_id)
    await world.converge()
    assert _action(world, action_id).status == "answered"
    assert world.state(label_id).confirmed_hash == world.hash_of(label_id)
    # The flash was answered busy while the label drew the update, and sent again: each
    # time the update was signed again after it.
    *before, (_, last) = world.rows(label_id)
    assert last == "acked"
    assert {status for _, status in before} == {"superseded"}
    assert "UNSIGNED_SEQUENCE" not in world.dispatcher.counts.refused_answers


async def test_a_label_that_never_answers_leaves_the_action_unanswered(world: World) -> None:
    await world.converge()
    label_id = sorted(world.labels)[0]
    action_id = _ask(world, label_id, ActionKind.FLASH)
    world.clock.advance(timedelta(seconds=1))
    await world.send_due()
    assert len(world.gateway.take()) == 1  # lost on the air
    world.clock.advance(timedelta(seconds=61))
    await world.send_due()
    action = _action(world, action_id)
    assert (action.status, action.detail) == ("unanswered", "no answer from the label in time")


async def test_how_long_an_action_waits_for_its_answer_is_the_installations_setting(
    engine: Engine,
) -> None:
    world = World.priced(engine, count=1, settings=Settings(label_action_answer_timeout_s=5))
    await world.converge()
    world.clock.advance(timedelta(seconds=20))  # its panel refresh is over
    action_id = _ask(world, sorted(world.labels)[0], ActionKind.PING)
    world.clock.advance(timedelta(seconds=1))
    await world.send_due()
    assert len(world.gateway.take()) == 1  # lost on the air
    world.clock.advance(timedelta(seconds=4))
    await world.send_due()
    assert _action(world, action_id).status == "sent"  # the default would wait 60 s...
    world.clock.advance(timedelta(seconds=2))
    await world.send_due()
    action = _action(world, action_id)
    assert (action.status, action.detail) == ("unanswered", "no answer from the label in time")


def test_a_store_key_may_not_act_in_another_store(world: World) -> None:
    from esl.errors import AccessDeniedError

    other_store = Principal(name="s2", role=Role.STORE, store="S02")
    with pytest.raises(AccessDeniedError):
        _ask(world, sorted(world.labels)[0], ActionKind.FLASH, who=other_store)
    with world.sessions() as session:
        assert session.scalars(select(LabelActionRow)).all() == []


async def test_an_answer_to_another_command_with_the_actions_number_does_not_answer_it(
    world: World,
) -> None:
    """After a restore the controller may sign an action with the number of a frame the
    database lost; the label's late answer to that frame (an image) then names the
    action's number. The answer says which command it answers: it is not the ping's, and
    the person is not told the label answered before it did."""
    await world.converge()
    label_id = sorted(world.labels)[0]
    world.clock.advance(timedelta(seconds=20))  # its panel refresh is over
    action_id = _ask(world, label_id, ActionKind.PING)
    world.clock.advance(timedelta(seconds=1))
    await world.send_due()
    ping = world.gateway.take()
    sequence = _action(world, action_id).sequence
    assert sequence is not None
    with world.sessions() as session:
        key = session.scalars(select(LabelRow.secret_key).where(LabelRow.id == label_id)).one()
    lost_image_answer = synchronized_answer(
        label_id, sequence, label_time=world.clock.now, opcode=Opcode.DISPLAY_IMAGE
    )
    world.dispatcher.settle(
        [Uplink("S01", "gw1", encode_response(lost_image_answer, key=key), world.clock.now)]
    )
    assert _action(world, action_id).status == "sent"
    world.dispatcher.settle(radio(ping, world.labels, now=world.clock.now))
    assert _action(world, action_id).status == "answered"


async def test_a_frame_the_label_took_refused_as_stale_after_a_ping_is_no_security_event(
    world: World,
) -> None:
    """A red-team review feared a false `sequence ahead of record`: the label takes an
    update, its answer is lost, a ping takes the next number, and a copy of the update
    (retried, or kept by the store gateway) reaches the label after the ping, which
    refuses it as stale. The ping waits while the update is in flight, and once it is
    back to pending the update is signed again after the ping as a new row (its first row
    superseded): the stale refusal answers a superseded frame, a late answer. Nothing
    counts further than the record, and no event says so."""
    label_id = sorted(world.labels)[0]
    world.controller.plan_due_work()
    await world.send_due()
    (update,) = [d for d in world.gateway.take() if d.label_id == label_id]
    radio([update], world.labels, now=world.clock.now)  # taken; the answer is lost
    world.clock.advance(world.dispatcher.policy.ack_timeout + timedelta(seconds=1))
    await world.send_due()  # unanswered in time: pending again

    action_id = _ask(world, label_id, ActionKind.PING)
    assert await _round(world) == 1  # the ping alone
    assert _action(world, action_id).status == "answered"
    (stale,) = radio([update], world.labels, now=world.clock.now)
    refusal = decode_response(stale.payload, key=world.keys[label_id])
    assert refusal.reason is ReasonCode.STALE_SEQUENCE
    world.dispatcher.settle([stale])
    await world.converge()

    with world.sessions() as session:
        assert session.scalars(select(SecurityEventRow)).all() == []
    assert world.state(label_id).confirmed_hash == world.hash_of(label_id)
    assert world.dispatcher.counts.refused_answers.get("UNSIGNED_SEQUENCE", 0) == 0


async def test_a_kept_copy_of_a_flash_the_label_refused_busy_answers_as_signed(
    world: World,
) -> None:
    """A flash refused busy is signed again with a new number, while the store gateway
    keeps the first copy for the label's next check-in (a transient refusal keeps a
    frame pending) and delivers the newest first. The label refuses the kept copy as
    stale; the action row held only its last number, so that genuine answer was refused
    as "a sequence the controller never signed" and logged as a replay would be. Every
    number an action was signed with is kept: the answer is the action's older copy's,
    placing no claim, and the action is answered by the copy the label took."""
    await world.converge()
    label_id = sorted(world.labels)[0]
    action_id = _ask(world, label_id, ActionKind.FLASH)
    world.clock.advance(timedelta(seconds=1))
    await world.send_due()
    kept = world.gateway.take()
    world.dispatcher.settle(radio(kept, world.labels, now=world.clock.now))
    assert _action(world, action_id).detail == "the label is busy (RETRY), asking again"

    world.clock.advance(timedelta(seconds=20))
    await world.send_due()
    again = world.gateway.take()
    world.dispatcher.settle(radio(again + kept, world.labels, now=world.clock.now))

    assert "UNSIGNED_SEQUENCE" not in world.dispatcher.counts.refused_answers
    action = _action(world, action_id)
    assert (action.status, action.reason, action.led_on) == ("answered", "SUCCESS", True)
