"""A worker that lost a store must not take up its labels' actions either: the action is
its holder's to send, and the answer its holder's to hear.

For up to one balance interval after a takeover the stale worker still runs dispatch
rounds, and its label-action sender took up the store's requested actions: a flash was
signed, marked `sent` and handed to the stale worker's own transport (a worker stalled
or cut off: nothing may carry it). The holder, seeing it `sent`, never sent it, and
60 s later the person who asked read "no answer from the label in time" while the LED
had never lit (a ping or a clock setting alike). Now the sender's transaction takes the
fence of the stores it wrote for before it commits (the controller's `_fence`): a store
found lost rolls the round's actions back, the store is dropped and its holder takes
them up. The look for silent labels (keep-alive pings the controller asks itself) is
fenced the same way, like every other write of a planning pass.

Real parts: PostgreSQL, two worker controllers, the firmware_sim labels, one test clock.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, select

from esl.db.console_models import LabelActionRow
from esl.pipeline.label_keepalive import KEEP_IN_SYNC
from esl.services.label_actions import ActionKind, request_action
from gateways.base import Downlink
from tests.pipeline.in_memory_gateway import radio
from tests.pipeline.small_world import World
from tests.support.pipeline import ADMIN
from tests.workers.world_workers import serving, taken_over, worker_with_prices

pytestmark = pytest.mark.integration


async def _ask_of_a_store_taken_over(
    engine: Engine, kind: ActionKind
) -> tuple[World, int, list[Downlink]]:
    """A store taken over from a stale worker, `kind` asked of its label, and the stale
    worker's round first: the holder serves `world` from then on; the action's id and
    the label's frames of the stale round."""
    world = World(engine, count=1)
    stale = await worker_with_prices(world)
    (label_id,) = world.labels
    serving(world, taken_over(world, stale))
    world.clock.advance(timedelta(seconds=20))  # the label's panel refresh is over
    with world.sessions.begin() as session:
        action_id = request_action(
            session, principal=ADMIN, label_id=label_id, kind=kind, now=world.clock.now
        ).id
    stale_frames = stale.dispatcher.work()  # handed to no transport: nobody hears them
    return world, action_id, [frame for frame in stale_frames if frame.label_id == label_id]


async def _holder_rounds(world: World) -> list[Downlink]:
    """The holder's rounds for two minutes (past the action's answer timeout), the label
    answering each frame; the frames it sent."""
    sent: list[Downlink] = []
    for _ in range(24):
        world.clock.advance(timedelta(seconds=5))
        world.controller.plan_due_work()
        await world.send_due()
        frames = world.gateway.take()
        world.dispatcher.settle(radio(frames, world.labels, now=world.clock.now))
        sent += frames
    return sent


async def test_a_flash_asked_of_a_store_taken_over_is_sent_by_its_holder_once(
    engine: Engine,
) -> None:
    world, action_id, stale_sent = await _ask_of_a_store_taken_over(engine, ActionKind.FLASH)
    (label,) = world.labels.values()
    sent = await _holder_rounds(world)
    assert world.action_outcome(action_id) == ("answered", "the LED is flashing")
    assert label.led_until_ms > 0
    assert len(sent) == 1  # the flash, once: nothing else was due
    assert not stale_sent


async def test_a_stale_worker_asks_no_keep_alive_ping_of_a_store_it_lost(
    engine: Engine,
) -> None:
    world = World(engine, count=1)
    stale = await worker_with_prices(world)
    (label,) = world.labels.values()
    world.clock.advance(KEEP_IN_SYNC)  # the label silent since: due a keep-alive ping
    holder = serving(world, taken_over(world, stale))

    stale.plan_due_work()  # its look for silent labels comes first
    with world.sessions() as session:
        asked = session.scalars(select(LabelActionRow.id)).all()
    assert not asked, "the stale worker asked a ping of a store it lost"
    assert "S01" not in (stale.stores or ())

    holder.plan_due_work()
    sent = await _holder_rounds(world)
    with world.sessions() as session:
        pings = session.execute(select(LabelActionRow.action, LabelActionRow.status)).all()
    assert pings == [("ping", "answered")]
    assert [frame.label_id for frame in sent] == [label.label_id]
