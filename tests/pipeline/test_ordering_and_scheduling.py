"""Late answers, supersession and timed flips, on the dispatcher's own code and one clock."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, select

from esl.db.models import LabelAcknowledgementRow
from gateways.base import Uplink
from gateways.protocol import (
    BasicStateFlag,
    ImageUpdate,
    LabelResponse,
    LabelState,
    Opcode,
    ReasonCode,
    decode_frame,
    encode_response,
)
from tests.pipeline.in_memory_gateway import radio
from tests.pipeline.small_world import World
from tests.support.pipeline import expected_planes, publish_prices


@pytest.fixture
def world(engine: Engine) -> World:
    return World.priced(engine)


async def test_a_late_ack_for_a_superseded_frame_never_confirms_the_newer_content(
    world: World,
) -> None:
    label_id = sorted(world.labels)[0]
    world.controller.plan_due_work()
    await world.send_due()
    first = world.gateway.take()
    old_answers = radio(first, world.labels, now=world.clock.now)  # held back: late
    hash_a = world.hash_of(label_id)

    world.clock.advance(timedelta(minutes=1))
    publish_prices(world.sessions, {"MLK-1": "2.99"}, now=world.clock.now)
    world.controller.plan_due_work()
    hash_b = world.hash_of(label_id)
    assert world.rows(label_id) == [(1, "superseded"), (2, "pending")]

    world.dispatcher.settle(old_answers)
    state = world.state(label_id)
    assert state.displayed_hash == hash_a  # what the label really shows
    assert state.confirmed_hash is None  # not B, and A was superseded
    assert state.desired_hash == hash_b

    await world.send_due()
    world.dispatcher.settle(radio(world.gateway.take(), world.labels, now=world.clock.now))
    state = world.state(label_id)
    assert state.confirmed_hash == state.displayed_hash == hash_b
    assert world.rows(label_id) == [(1, "superseded"), (2, "acked")]
    with world.sessions() as session:
        history = list(
            session.execute(
                select(LabelAcknowledgementRow.sequence, LabelAcknowledgementRow.displayed_hash)
                .where(LabelAcknowledgementRow.label_id == label_id)
                .order_by(LabelAcknowledgementRow.id)
            )
        )
    assert [tuple(row) for row in history] == [(1, hash_a), (2, hash_b)]


async def test_a_change_published_for_later_flips_the_shelf_on_time(world: World) -> None:
    world.controller.plan_due_work()
    await world.send_due()
    world.dispatcher.settle(radio(world.gateway.take(), world.labels, now=world.clock.now))
    label_id = sorted(world.labels)[0]
    hash_a = world.hash_of(label_id)

    world.clock.advance(timedelta(minutes=1))  # the first refresh is over
    flip = world.clock.now + timedelta(minutes=50)
    publish_prices(world.sessions, {"MLK-1": "2.49"}, now=world.clock.now, effective_at=flip)
    world.controller.plan_due_work()
    await world.send_due()
    frames = world.gateway.take()
    assert len(frames) == 2
    world.dispatcher.settle(radio(frames, world.labels, now=world.clock.now))
    assert world.state(label_id).displayed_hash == hash_a  # delivered ahead, not shown yet
    with world.sessions() as session:
        before = expected_planes(session, label_id=label_id, sku="MLK-1", at=world.clock.now)
    world.labels[label_id].state(now=flip - timedelta(seconds=1))
    assert world.labels[label_id].shown == before

    world.clock.now = flip + timedelta(seconds=1)
    hash_b = world.hash_of(label_id)
    assert world.state(label_id).confirmed_hash == hash_b  # held by the label since
    world.labels[label_id].state(now=world.clock.now)  # the label's own timer fires
    with world.sessions() as session:
        assert world.labels[label_id].shown == expected_planes(
            session, label_id=label_id, sku="MLK-1", at=world.clock.now
        )


async def test_a_label_that_cannot_hold_a_timed_image_gets_it_at_the_instant(
    world: World,
) -> None:
    world.controller.plan_due_work()
    await world.send_due()
    world.dispatcher.settle(radio(world.gateway.take(), world.labels, now=world.clock.now))
    label_id = sorted(world.labels)[0]
    world.clock.advance(timedelta(minutes=1))
    flip = world.clock.now + timedelta(minutes=50)
    publish_prices(world.sessions, {"MLK-1": "2.49"}, now=world.clock.now, effective_at=flip)
    world.controller.plan_due_work()
    await world.send_due()
    # This label's firmware has no timed images: it refuses the display-at field.
    answers = []
    for downlink in world.gateway.take():
        if downlink.label_id != label_id:
            answers += radio([downlink], world.labels, now=world.clock.now)
            continue
        frame = decode_frame(downlink.payload, key=world.keys[label_id], label_id=label_id)
        assert isinstance(frame.command, ImageUpdate)
        assert frame.command.display_at == flip
        refusal = _refusal(world, label_id, frame.sequence)
        answers.append(Uplink(downlink.store, downlink.gateway, refusal, world.clock.now))
    world.dispatcher.settle(answers)
    assert world.state(label_id).can_schedule is False

    world.clock.advance(timedelta(minutes=30))
    await world.send_due()
    assert world.gateway.take() == []  # not before the instant

    world.clock.now = flip
    await world.send_due()
    late = world.gateway.take()
    assert [d.label_id for d in late] == [label_id]
    frame = decode_frame(late[0].payload, key=world.keys[label_id], label_id=label_id)
    assert isinstance(frame.command, ImageUpdate)
    assert frame.command.display_at is None
    world.dispatcher.settle(radio(late, world.labels, now=world.clock.now))
    with world.sessions() as session:
        assert world.labels[label_id].shown == expected_planes(
            session, label_id=label_id, sku="MLK-1", at=flip
        )


def _refusal(world: World, label_id: str, sequence: int) -> bytes:
    """What firmware without timed images answers: INVALID_PARAMETERS, signed."""
    label = world.labels[label_id]
    refusal = LabelResponse(
        label_id=label_id,
        sequence=sequence,
        reason=ReasonCode.INVALID_PARAMETERS,
        state=LabelState.SYNCHRONIZED,
        flags=BasicStateFlag.SYNCHRONIZED,
        displayed_hash=label.shown_hash,
        page=0,
        battery_mv=label.battery_mv,
        rssi_dbm=-60,
        lqi=170,
        temperature_tenths_c=200,
        firmware="0.9.0",
        label_time=world.clock.now,
        opcode=Opcode.IMAGE_UPDATE,
    )
    return encode_response(refusal, key=world.keys[label_id])


async def test_after_a_failed_round_the_dispatcher_resends_from_the_database(
    world: World,
) -> None:
    world.controller.plan_due_work()
    await world.send_due()
    sent = world.gateway.take()
    assert len(sent) == 2
    # A round the database refused: the in-flight view is dropped, the rows are the truth.
    world.dispatcher.start_over()
    await world.send_due()
    again = world.gateway.take()
    assert [d.payload for d in again] == [d.payload for d in sent]  # same frames, same sequences
    # The first copies' answers and the second copies' (the label's stored answer) both
    # arrive; each label's update is settled once.
    world.dispatcher.settle(radio(sent + again, world.labels, now=world.clock.now))
    for label_id in world.labels:
        assert world.rows(label_id) == [(1, "acked")]
    assert world.dispatcher.counts.acked == 2
    assert world.dispatcher.counts.late_answers == 2
