"""`LabelActionTimings.longest`: no action stays open longer than the limits say
(`esl label flash|ping|refresh|unassociate` wait that long by default and then say "no
answer ... is the controller running?")."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine

from esl.db.console_models import LabelActionRow
from esl.pipeline.label_actions import LabelActionTimings
from esl.services.label_actions import ActionKind, request_action
from esl.settings import Settings
from tests.pipeline.in_memory_gateway import radio
from tests.pipeline.small_world import World
from tests.support.pipeline import ADMIN


def _status(world: World, action_id: int) -> tuple[str, str | None]:
    with world.sessions() as session:
        row = session.get(LabelActionRow, action_id)
        assert row is not None
        return row.status, row.detail


@pytest.mark.parametrize(
    ("busy_retry_s", "answer_after_s"),
    [(5, 2), (5, 10), (1, 2)],
    ids=["answers-within-busy-retry", "answers-after-10s", "busy-retry-1s-answers-after-2s"],
)
async def test_a_label_busy_past_the_wait_limit_ends_the_flash_even_when_its_busy_answers_are_slow(
    engine: Engine, busy_retry_s: float, answer_after_s: int
) -> None:
    """A label that stays busy (drawing) past `wait_limit` ends the action with "the
    label stayed busy". Its busy answers take longer to reach the controller than
    `busy_retry` (ESL_LABEL_ACTION_BUSY_RETRY_S): 10 s against the default 5 s (a store
    gateway relaying at the label's check-in, a slow response slot), or 2 s against an
    installation's 1 s. The first case (2 s against 5 s) passes. The sender
    checks the wait limit only while it waits out `busy_retry`, so each late RETRY
    answer has the flash signed and sent again at once, past the wait limit, for as long
    as the label stays busy: the action outlives `longest`, and `esl label flash`
    (default wait `longest` + 2 polls) reports "no answer ... is the controller
    running?" while it is running and still asking."""
    world = World.priced(engine, count=1, settings=Settings(label_action_busy_retry_s=busy_retry_s))
    await world.converge()
    world.clock.advance(timedelta(seconds=20))  # its panel refresh is over
    label_id = sorted(world.labels)[0]
    label = world.labels[label_id]
    with world.sessions.begin() as session:
        action_id = request_action(
            session, principal=ADMIN, label_id=label_id, kind=ActionKind.FLASH, now=world.clock.now
        ).id
    requested_at = world.clock.now
    longest = LabelActionTimings().longest(ActionKind.FLASH.value)  # 180 s either way
    # The label is busy for ten minutes (drawing, one refresh after another).
    label.busy_until_ms = int((requested_at + timedelta(minutes=10)).timestamp() * 1000)
    sends = 0
    while world.clock.now - requested_at < longest + timedelta(seconds=60):
        world.clock.advance(timedelta(seconds=1))
        await world.send_due()
        sent = world.gateway.take()
        sends += len(sent)
        world.clock.advance(timedelta(seconds=answer_after_s))  # the answer's way back
        world.dispatcher.settle(radio(sent, world.labels, now=world.clock.now))
        if _status(world, action_id)[0] not in ("requested", "sent"):
            break
    status, detail = _status(world, action_id)
    elapsed = world.clock.now - requested_at
    assert status not in ("requested", "sent"), (
        f"flash still {status} ({detail}) {elapsed.total_seconds():g} s after the request, "
        f"past longest {longest.total_seconds():g} s; signed and sent {sends} times"
    )
    assert (status, detail) == ("failed", "the label stayed busy")
