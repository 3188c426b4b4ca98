"""A staff action's frame (flash, ping, refresh) altered on its way is a security event,
never the label's answer to the person.

Found by review: the label's signed BAD_MAC refusal of the altered copy was recorded as
the action's answer ("the label refused: BAD_MAC"), no security event was raised, and the
genuine frame's answer was then ignored (docs/protocol.md, "Integrity failures of our own
frames").
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import Engine, select

from esl.db.console_models import LabelActionRow
from esl.db.models import SecurityEventRow
from esl.services.label_actions import ActionKind, request_action
from gateways.base import Downlink
from tests.pipeline.in_memory_gateway import radio
from tests.pipeline.small_world import World
from tests.support.pipeline import ADMIN


@pytest.fixture
def world(engine: Engine) -> World:
    return World.priced(engine, count=1)


def _altered(downlink: Downlink) -> Downlink:
    payload = downlink.payload
    return replace(downlink, payload=payload[:-1] + bytes([payload[-1] ^ 0x01]))


async def test_an_altered_ping_frame_is_a_security_event_not_the_labels_answer(
    world: World,
) -> None:
    await world.converge()
    label_id = sorted(world.labels)[0]
    world.clock.advance(timedelta(minutes=1))  # past the panel's refresh
    with world.sessions.begin() as session:
        action_id = request_action(
            session, principal=ADMIN, label_id=label_id, kind=ActionKind.PING, now=world.clock.now
        ).id

    await world.send_due()
    (frame,) = world.gateway.take()
    # A relay alters the ping on its way (or a forged copy with its label and sequence
    # reaches the label first); the genuine frame follows.
    answers = radio([_altered(frame), frame], world.labels, now=world.clock.now)
    world.dispatcher.settle(answers)

    with world.sessions() as session:
        events = session.scalars(select(SecurityEventRow.kind)).all()
        action = session.get(LabelActionRow, action_id)
        assert action is not None
        outcome = (action.status, action.reason, action.detail)
    assert "tampered frame" in events, f"no security event; action recorded as {outcome}"
    assert outcome[1] == "SUCCESS", f"the forged copy answered the action: {outcome}"
