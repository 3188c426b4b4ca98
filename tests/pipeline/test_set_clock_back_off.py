"""A label whose clock stays off is set again promptly once, then less and less often:
never while a SetClock to it is open, the wait doubling up to `ASK_AGAIN_AFTER`.

Each SetClock takes one of the label's sequence numbers, and one that arrives late sets
the clock behind again: a label that keeps taking its SetClocks late, or never takes
them, must not be sent one at every answer. The controller and dispatcher against a
simulated label speaking the real protocol, SQLite, one test clock for both sides (as
tests/pipeline/test_set_clock_delivered_late.py)."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import pairwise

from sqlalchemy import Engine, func, select

from esl.db.console_models import LabelActionRow
from esl.pipeline.action_kinds import OPEN_STATUSES, ActionKind
from esl.pipeline.label_clocks import ASK_AGAIN_AFTER
from gateways.base import Downlink
from tests.pipeline.in_memory_gateway import radio
from tests.pipeline.small_world import World

_MINUTE = timedelta(minutes=1)
_WATCHED = timedelta(hours=3)


def _set_clocks(world: World) -> list[datetime]:
    """When each SetClock was asked of the world's labels, in order."""
    with world.sessions() as session:
        return list(
            session.scalars(
                select(LabelActionRow.requested_at)
                .where(LabelActionRow.action == ActionKind.SET_CLOCK.value)
                .order_by(LabelActionRow.id)
            )
        )


def _open_set_clocks(world: World) -> int:
    """How many SetClocks are open now (requested, or sent and not answered in time)."""
    query = (
        select(func.count())
        .select_from(LabelActionRow)
        .where(
            LabelActionRow.action == ActionKind.SET_CLOCK.value,
            LabelActionRow.status.in_(OPEN_STATUSES),
        )
    )
    with world.sessions() as session:
        return session.scalar(query) or 0


def _gaps_in_minutes(instants: list[datetime]) -> list[float]:
    return [(later - earlier) / _MINUTE for earlier, later in pairwise(instants)]


async def test_a_label_that_takes_its_set_clocks_late_is_set_again_with_a_back_off(
    engine: Engine,
) -> None:
    # A label that wakes every five minutes: its gateway holds what is sent to it until
    # then, and it answers and checks in as it wakes. Every SetClock reaches it minutes
    # after it was signed and sets its clock behind again.
    world = World.priced(engine, count=1)
    await world.converge()
    (label_id,) = world.labels
    world.labels[label_id].clock_offset_ms = -10 * 60 * 1000
    held: list[Downlink] = []
    start = world.clock.now
    most_open = 0
    while world.clock.now < start + _WATCHED:
        world.clock.advance(_MINUTE)
        world.controller.plan_due_work()
        await world.send_due()
        held += world.gateway.take()
        if (world.clock.now - start) % timedelta(minutes=5) == timedelta(0):
            answers = radio(held, world.labels, now=world.clock.now)
            held = []
            world.dispatcher.settle([*answers, world.check_in(label_id)])
        most_open = max(most_open, _open_set_clocks(world))

    gaps = _gaps_in_minutes(_set_clocks(world))
    # Set again at its first late answer (before, an hour after the first SetClock), then
    # waiting longer each time, up to the hour; never two open at once.
    assert gaps[0] <= 5
    assert gaps == sorted(gaps)
    assert gaps[-1] >= ASK_AGAIN_AFTER / _MINUTE
    assert len(gaps) + 1 <= 8  # in three hours; one at every answer would be 36
    assert most_open == 1


async def test_a_label_nothing_reaches_is_not_sent_set_clocks_in_a_tight_loop(
    engine: Engine,
) -> None:
    # Its check-ins are heard every minute, its clock ten minutes behind, but nothing
    # sent to it arrives: no SetClock is ever answered. Watched until just before it gives
    # up its association (two hours without a frame, as a label does).
    world = World.priced(engine, count=1)
    await world.converge()
    (label_id,) = world.labels
    world.labels[label_id].clock_offset_ms = -10 * 60 * 1000
    start = world.clock.now
    most_open = 0
    while world.clock.now < start + 2 * ASK_AGAIN_AFTER - 5 * _MINUTE:
        world.clock.advance(_MINUTE)
        world.dispatcher.settle([world.check_in(label_id)])
        world.controller.plan_due_work()
        await world.send_due()
        world.gateway.take()  # lost on the way
        most_open = max(most_open, _open_set_clocks(world))

    asked = _set_clocks(world)
    gaps = _gaps_in_minutes(asked)
    # Asked again once its SetClock went unanswered, then waiting longer each time, up to
    # the hour; never while one is open.
    assert gaps == sorted(gaps)
    assert len(asked) <= 6  # in two hours; one at every check-in would be 115
    assert len([at for at in asked if at > start + ASK_AGAIN_AFTER]) <= 1
    assert most_open == 1
