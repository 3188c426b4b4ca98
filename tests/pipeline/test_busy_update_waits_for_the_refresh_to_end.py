"""An update parked busy is revived by a check-in that says the label is not refreshing,
not by one sent in the middle of a refresh: revived then, it would only be refused busy
again, its attempts spent and parked anew at every check-in (a label checking in every
few seconds through a long refresh would be sent the frame over and over)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine, select

from esl.db.models import OutboxRow
from esl.delivery_states import OutboxStatus, ParkReason
from gateways.protocol import LabelState
from tests.pipeline.in_memory_gateway import radio
from tests.pipeline.small_world import World
from tests.support.pipeline import publish_prices


def _open_rows(world: World) -> list[tuple[str, str | None]]:
    with world.sessions() as session:
        return [
            (row.status, row.parked_reason)
            for row in session.scalars(
                select(OutboxRow).where(
                    OutboxRow.status.in_(
                        (OutboxStatus.PENDING.value, OutboxStatus.SENT.value, "parked")
                    )
                )
            )
        ]


def _next_send(world: World) -> datetime:
    with world.sessions() as session:
        (when,) = session.scalars(
            select(OutboxRow.not_before).where(OutboxRow.status == OutboxStatus.PENDING.value)
        ).all()
    return when


async def test_a_busy_update_is_sent_again_after_the_refresh_not_during_it(
    engine: Engine,
) -> None:
    world = World(engine, count=1)
    publish_prices(world.sessions, {"MLK-1": "3.49"}, now=world.clock.now)
    await world.converge()
    (label_id,) = world.labels
    label = world.labels[label_id]

    world.clock.advance(timedelta(seconds=1))
    publish_prices(world.sessions, {"MLK-1": "2.99"}, now=world.clock.now)
    world.controller.plan_due_work()
    await world.send_due()
    world.dispatcher.settle(radio(world.gateway.take(), world.labels, now=world.clock.now))
    assert label.state(now=world.clock.now) is LabelState.UPDATING  # drawing 2.99
    # Kept busy two minutes more (changes in a row on a slow panel, a long flash): longer
    # than the retry budget of busy answers.
    label.busy_until_ms += 120_000

    world.clock.advance(timedelta(seconds=1))
    publish_prices(world.sessions, {"MLK-1": "2.49"}, now=world.clock.now)
    world.controller.plan_due_work()
    for _ in range(world.controller.settings.policy.max_attempts):
        world.clock.now = max(world.clock.now, _next_send(world))
        await world.send_due()
        world.dispatcher.settle(radio(world.gateway.take(), world.labels, now=world.clock.now))
    assert label.state(now=world.clock.now) is LabelState.UPDATING
    assert _open_rows(world) == [("parked", ParkReason.BUSY.value)]

    # A check-in in the middle of the refresh: still busy, nothing is sent.
    world.clock.advance(timedelta(seconds=1))
    assert label.state(now=world.clock.now) is LabelState.UPDATING
    world.dispatcher.settle([world.check_in(label_id)])
    await world.send_due()
    assert world.gateway.take() == []
    assert _open_rows(world) == [("parked", ParkReason.BUSY.value)]

    # Its check-in once the refresh is over: the update goes, and the panel shows 2.49.
    world.clock.advance(timedelta(seconds=30))
    assert label.state(now=world.clock.now) is LabelState.SYNCHRONIZED
    world.dispatcher.settle([world.check_in(label_id)])
    await world.send_due()
    world.dispatcher.settle(radio(world.gateway.take(), world.labels, now=world.clock.now))
    assert _open_rows(world) == []
    assert world.panel_hash(label_id) == world.hash_of(label_id)
