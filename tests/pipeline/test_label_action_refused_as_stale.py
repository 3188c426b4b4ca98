"""A label action's frame refused `STALE_SEQUENCE` (docs/pipeline.md "Labels that count
further than the record"; a restore that lost frames: `test_record_behind_labels_without_
check_ins.py`) when nothing was lost from the database.

A ping in the air when a price change is planned: the image frame takes the next number
and goes out at once, and a store gateway may deliver it first (docs/protocol.md's threat
model). The label takes the image, then rightly refuses the ping as stale: the label is in
step with the record, and the ping is only overtaken. And copies of one genuine stale
refusal in one batch are one refusal: the count moves once.

SQLite, the controller and dispatcher, firmware_sim labels on one test clock; the labels
hear only what the controller sends, in the order each test hands it over.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select

from esl.db.console_models import LabelActionFrameRow
from esl.db.models import SecurityEventRow
from esl.services.label_actions import ActionKind, request_action
from gateways.base import Uplink
from gateways.protocol import ReasonCode, decode_response
from gateways.protocol.commands import Opcode
from tests.pipeline.in_memory_gateway import radio
from tests.pipeline.small_world import World
from tests.support.audit import audit_by_label
from tests.support.pipeline import ADMIN, publish_prices


@pytest.fixture
def world(engine: Engine) -> World:
    return World.priced(engine, count=1)


def _ping(world: World, label_id: str) -> int:
    """A person's ping of the label, after its panel refresh is over; its action id."""
    world.clock.advance(timedelta(seconds=20))
    with world.sessions.begin() as session:
        return request_action(
            session, principal=ADMIN, label_id=label_id, kind=ActionKind.PING, now=world.clock.now
        ).id


def _events(world: World) -> list[tuple[str, str | None]]:
    with world.sessions() as session:
        return [(e.kind, e.detail) for e in session.scalars(select(SecurityEventRow))]


async def test_a_ping_overtaken_by_a_price_change_is_signed_again_and_the_image_kept(
    world: World,
) -> None:
    """Before: a security event `sequence ahead of record`, the record forgot the image the
    label had just confirmed (the audit `unconfirmed`) and sent it again in full."""
    await world.converge()
    (label_id,) = world.labels
    action_id = _ping(world, label_id)
    world.clock.advance(timedelta(seconds=1))
    await world.send_due()
    ping = world.gateway.take()
    assert len(ping) == 1

    # A price change while the ping is in the air: its frame takes the next number.
    publish_prices(world.sessions, {"MLK-1": "2.99"}, now=world.clock.now)
    world.controller.plan_due_work()
    await world.send_due()
    image = world.gateway.take()
    assert len(image) == 1

    # The gateway delivers the image first, then the ping: both genuine, in the wrong order.
    answers = radio(image + ping, world.labels, now=world.clock.now)
    refusal = decode_response(answers[1].payload, key=world.keys[label_id])
    assert refusal.reason is ReasonCode.STALE_SEQUENCE
    world.dispatcher.settle(answers)

    assert world.state(label_id).confirmed_hash == world.hash_of(label_id)
    assert audit_by_label(world.sessions, world.clock.now)[label_id].audit_class.value == "match"
    assert world.action_outcome(action_id)[0] == "requested"  # signed again, not refused
    sent = len(world.rows(label_id))
    # The image's panel refresh over, the ping goes out again and is answered.
    await world.run_until(world.clock.now + timedelta(minutes=1))
    assert len(world.rows(label_id)) == sent  # the image not sent again
    assert world.panel_hash(label_id) == world.hash_of(label_id)
    status, detail = world.action_outcome(action_id)
    assert status == "answered"
    assert (detail or "").startswith("alive")
    assert _events(world) == []


def _signed(world: World, action_id: int) -> int:
    """How many numbers the action has been signed with."""
    with world.sessions() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(LabelActionFrameRow)
                .where(LabelActionFrameRow.action_id == action_id)
            )
            or 0
        )


def _refused_stale(
    world: World, answers: list[Uplink], label_id: str, *, ping: bool
) -> list[Uplink]:
    """Of `answers`, the label's `STALE_SEQUENCE` refusals of a ping, or of anything else."""
    found = []
    for answer in answers:
        response = decode_response(answer.payload, key=world.keys[label_id])
        if (
            response.reason is ReasonCode.STALE_SEQUENCE
            and (response.opcode == Opcode.PING) == ping
        ):
            found.append(answer)
    return found


@pytest.mark.parametrize("copies", [1, 20])
async def test_copies_of_an_actions_stale_refusal_move_the_count_once(
    world: World, copies: int
) -> None:
    """A label counting far further than the record (a restore) refuses a ping signed a
    third time as stale: 255 numbers are skipped, however many copies of that refusal a
    store gateway delivers in one batch (anyone with its login can publish a captured
    answer again). Before: 20 copies, 20 x 255."""
    await world.converge()
    (label_id,) = world.labels
    world.labels[label_id].last_sequence += 1_000_000
    action_id = _ping(world, label_id)
    for _ in range(40):
        world.clock.advance(timedelta(seconds=6))
        await world.send_due()
        answers = radio(world.gateway.take(), world.labels, now=world.clock.now)
        refused = _refused_stale(world, answers, label_id, ping=True)
        if refused and _signed(world, action_id) == 3:
            world.dispatcher.settle([a for a in answers if a not in refused])
            before = world.state(label_id).last_sequence
            world.dispatcher.settle(refused * copies)
            assert world.state(label_id).last_sequence - before == 255
            assert "signing it again above" in (world.action_outcome(action_id)[1] or "")
            return
        world.dispatcher.settle(answers)
    pytest.fail(f"never refused on its third signing: {world.action_outcome(action_id)}")


@pytest.mark.parametrize("copies", [1, 20])
async def test_copies_of_an_image_frames_stale_refusal_move_the_count_once(
    world: World, copies: int
) -> None:
    """The same for an image frame (`Verdict.RESIGN`): refused on its third attempt, it is
    signed again 256 above, however many copies of the refusal arrive in one batch."""
    await world.converge()
    (label_id,) = world.labels
    world.labels[label_id].last_sequence += 1_000_000
    world.clock.advance(timedelta(seconds=20))
    publish_prices(world.sessions, {"MLK-1": "2.99"}, now=world.clock.now)
    world.controller.plan_due_work()
    refusals = 0
    for _ in range(40):
        await world.send_due()
        answers = radio(world.gateway.take(), world.labels, now=world.clock.now)
        refused = _refused_stale(world, answers, label_id, ping=False)
        if refused:
            refusals += 1
        if refusals == 3:
            before = world.state(label_id).last_sequence
            world.dispatcher.settle(answers + refused * (copies - 1))
            assert world.state(label_id).last_sequence - before == 256
            return
        world.dispatcher.settle(answers)
        world.clock.advance(timedelta(seconds=6))
    pytest.fail(f"the image was refused stale {refusals} times, never three")
