"""Worker controllers over the in-memory store of tests/pipeline/small_world.py, on the
worker tests' PostgreSQL: the real planner, dispatcher and settlement of each worker, the
firmware_sim labels answering, and one test clock, so a test can stop one worker's
transaction at a known point while another runs into it."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from esl.composition import build_controller, controller_settings
from esl.pipeline import UpdateController
from esl.pipeline.controller_lease import ControllerIdentity
from esl.pipeline.store_leases import StoreLeaseTerms, balance_stores
from esl.settings import Settings
from gateways.base import Downlink
from tests.pipeline.in_memory_gateway import InMemoryGateway, radio
from tests.pipeline.small_world import PRICES_A, World
from tests.support.outbox import outbox_by_label
from tests.support.pipeline import publish_prices
from tests.support.waiting import until

__all__ = [
    "assert_still_sent",
    "balance",
    "every_label_shows",
    "follow_balance",
    "holder_rounds",
    "plan_to_the_end",
    "price_change_sent_again",
    "sent_again_by_the_new_holder",
    "sent_once_and_after_the_timeout",
    "serving",
    "taken_over",
    "waiting_on_a_lock",
    "worker_in",
    "worker_with_prices",
]

TERMS = StoreLeaseTerms()


def worker_in(
    world: World,
    *,
    at: datetime,
    gateway: InMemoryGateway | None = None,
    sessions: sessionmaker[Session] | None = None,
    **changes: Any,
) -> UpdateController:
    """A worker controller over `world`'s database and clock that balanced the stores at
    `at` (`follow_balance`). Its frames go to `gateway` (by default one of its own that
    nothing reads); it reaches the database by `sessions` (by default the world's);
    `changes` replace fields of its settings (`plan_chunk=1`)."""
    controller = build_controller(
        controller_settings(Settings.defaults(), window=8, store_leases=TERMS, **changes),
        gateway=gateway or InMemoryGateway(),
        sessions=sessions or world.sessions,
        clock=world.clock,
        rng=random.Random(3),
        identity=ControllerIdentity.of_this_process(now=at),
    )
    follow_balance(world, controller, at=at)
    return controller


def serving(world: World, worker: UpdateController) -> UpdateController:
    """`worker` runs `world` from now on: `world.converge()` steps it."""
    world.controller, world.dispatcher = worker, worker.dispatcher
    return worker


async def worker_with_prices(
    world: World,
    *,
    gateway: InMemoryGateway | None = None,
    converge: bool = True,
    sessions: sessionmaker[Session] | None = None,
    **changes: Any,
) -> UpdateController:
    """A worker that holds `world`'s store S01 from now on and serves it, prices A
    published and, unless `converge` is False, on every label. Its frames go to `gateway`
    (by default the world's labels); it reaches the database by `sessions` (by default
    the world's)."""
    start = world.clock.now
    worker = worker_in(
        world, at=start, gateway=gateway or world.gateway, sessions=sessions, **changes
    )
    assert "S01" in (worker.stores or ())
    serving(world, worker)
    publish_prices(world.sessions, PRICES_A, now=start)
    if converge:
        await world.converge()
    return worker


async def stalled_between_chunks(world: World) -> tuple[UpdateController, Iterator[Any]]:
    """A worker serving `world` (prices A on every label), planning one label per chunk,
    that starts planning MLK-1 at 3.79 and stalls after its first chunk: the worker and its
    planning pass, to go on with `plan_to_the_end`."""
    stale = await worker_with_prices(world, plan_chunk=1)
    world.clock.advance(timedelta(seconds=5))
    publish_prices(world.sessions, {"MLK-1": "3.79"}, now=world.clock.now)
    steps = stale._planning_steps()
    assert stale._next_step(steps) == 1
    return stale, steps


def taken_over(
    world: World, stale: UpdateController, *, gateway: InMemoryGateway | None = None, **changes: Any
) -> UpdateController:
    """`stale` stalls past its leases and another worker takes store S01 over: the new
    holder, while `stale`, which has not balanced since, still counts S01 as its own.
    The holder's frames go to `gateway` (by default the world's labels)."""
    world.clock.advance(TERMS.stale_after + timedelta(seconds=1))
    holder = worker_in(world, at=world.clock.now, gateway=gateway or world.gateway, **changes)
    assert "S01" in (holder.stores or ())
    assert "S01" in (stale.stores or ())  # it has not balanced since
    return holder


async def sent_again_by_the_new_holder(
    world: World, stale: UpdateController, *, stalled: timedelta = timedelta(0)
) -> tuple[UpdateController, list[Downlink]]:
    """`stale` (serving `world`) sends S01's due frames, handed to a transport stalled with
    it (they never leave), and stalls `stalled` more, then past its leases: another worker
    takes S01 over, starts (the frames left `sent` are due again, as at its run's start)
    and sends them again; `stale`, which has not balanced since, still counts S01 as its
    own and holds them in its windows. The holder, serving `world` from then on, and its
    frames, not delivered yet."""
    await world.send_due()
    assert world.gateway.take(), "the stale worker had nothing to send"
    world.clock.advance(stalled)
    holder = serving(world, taken_over(world, stale))
    holder.dispatcher.start_over()
    await world.send_due()
    return holder, world.gateway.take()


async def price_change_sent_again(
    world: World, *, stalled: timedelta = timedelta(0), **changes: Any
) -> tuple[UpdateController, UpdateController, dict[str, str], list[Downlink]]:
    """A worker serving `world` (prices A on every label; `changes` replace fields of its
    settings) plans MLK-1 at 3.79 and sends it, then stalls (`stalled`, then past its
    leases) while another worker takes S01 over and sends those frames again
    (`sent_again_by_the_new_holder`). The stale worker, the holder, the due content by
    label, and the holder's frames, not delivered yet."""
    stale = await worker_with_prices(world, **changes)
    world.clock.advance(timedelta(seconds=5))
    publish_prices(world.sessions, {"MLK-1": "3.79"}, now=world.clock.now)
    due = {label_id: world.hash_of(label_id) for label_id in world.labels}
    stale.plan_due_work()
    holder, sent = await sent_again_by_the_new_holder(world, stale, stalled=stalled)
    assert sorted(frame.label_id for frame in sent) == sorted(world.labels)
    return stale, holder, due, sent


def assert_still_sent(world: World, *, by: str) -> None:
    """Every label's newest frame is still `sent` (the holder waits for its answer): none
    put back or parked `by` what the message names."""
    for label_id, rows in outbox_by_label(world.sessions).items():
        assert rows[-1][1] == "sent", (
            f"{by} changed {label_id}'s frame the new holder sent: {rows[-1]}"
        )


async def holder_rounds(
    world: World, sent: list[Downlink], *, answered_after: timedelta | None
) -> list[tuple[datetime, Downlink]]:
    """The holder's rounds every 5 s for five minutes, the labels answering: its frames
    `sent` `answered_after` they went out (None: never, lost on the way), the frames of
    later rounds at once. Every frame put on air since the takeover, with when."""
    start = world.clock.now
    reached = [(start, frame) for frame in sent]
    for _ in range(60):
        world.clock.advance(timedelta(seconds=5))
        world.controller.plan_due_work()
        await world.send_due()
        frames = world.gateway.take()
        reached += [(world.clock.now, frame) for frame in frames]
        if answered_after is not None and world.clock.now == start + answered_after:
            frames = sent + frames
        world.dispatcher.settle(radio(frames, world.labels, now=world.clock.now))
    return reached


def sent_once_and_after_the_timeout(
    world: World, reached: list[tuple[datetime, Downlink]], *, ack_timeout: timedelta
) -> None:
    """Each label got the holder's frame (`reached`: `holder_rounds`' frames, the first
    the holder's), and the same again once the holder's own wait for its answer was
    over: nothing in between."""
    start = reached[0][0]
    for label_id in world.labels:
        after = [at - start for at, frame in reached if frame.label_id == label_id]
        assert len(after) == 2, f"{label_id} got frames {after} after the takeover"
        assert after[0] == timedelta(0)
        assert after[1] >= ack_timeout, f"{label_id}'s frame went again at {after[1]}"


async def only_the_holders_timeout_sends_again(
    world: World, sent: list[Downlink], due: dict[str, str], *, ack_timeout: timedelta
) -> None:
    """The holder's frames lost on the way: its own timeout alone sends them again, once,
    and every label ends showing its due price, as recorded."""
    reached = await holder_rounds(world, sent, answered_after=None)
    every_label_shows(world, due)
    sent_once_and_after_the_timeout(world, reached, ack_timeout=ack_timeout)


def every_label_shows(world: World, due: dict[str, str]) -> None:
    """Every panel shows its due price, and the record agrees."""
    for label_id, label in world.labels.items():
        assert label.shown_hash is not None
        assert label.shown_hash.hex() == due[label_id], f"{label_id} shows another price"
        state = world.state(label_id)
        assert state.confirmed_hash == state.desired_hash == due[label_id]
    for label_id, rows in outbox_by_label(world.sessions).items():
        assert rows[-1][1] == "acked", f"{label_id}: {rows[-1]}"


def follow_balance(world: World, controller: UpdateController, *, at: datetime) -> None:
    """The worker balances the stores at `at` (so it holds what a worker balancing then
    takes) and follows what it holds, as its pipeline thread does between two planning
    steps."""
    balance(world, controller, at=at)
    controller._balance_stores()


def balance(world: World, controller: UpdateController, *, at: datetime) -> None:
    """The worker's balance thread balances the stores at `at`; its pipeline thread
    follows the result at its next step (`follow_balance` does both)."""
    assert controller.identity is not None
    taken: set[str] = set()
    tenures: dict[str, datetime] = {}
    with world.sessions.begin() as session:
        balanced = balance_stores(
            session, controller.identity, now=at, terms=TERMS, taken=taken, tenures=tenures
        )
    controller._follow_balance(balanced, taken, tenures)


def plan_to_the_end(*passes: tuple[UpdateController, Iterator[Any]]) -> None:
    """Step planning passes (a worker and its `_planning_steps()`) until all have ended,
    as their pipeline threads would: the first until it ends, then the next."""
    while any(worker._next_step(steps) is not None for worker, steps in passes):
        continue


def waiting_on_a_lock(engine: Engine, table: str) -> bool:
    """Whether a session of this database waits for a lock in a statement on `table`."""
    with engine.connect() as connection:
        return bool(
            connection.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND wait_event_type = 'Lock' AND query ILIKE :table"
                ),
                {"table": f"%{table}%"},
            )
        )


async def step_until_waiting(
    engine: Engine, controller: UpdateController, steps: Iterator[Any], *, table: str, what: str
) -> asyncio.Task[Any]:
    """One planning chunk of `controller` (`steps`: its `_planning_steps()`) on a thread,
    as its pipeline thread runs it, returned once it waits for a lock on `table` (or has
    ended: the caller asserts which it expected)."""
    step = asyncio.create_task(asyncio.to_thread(controller._next_step, steps))
    await until(lambda: step.done() or waiting_on_a_lock(engine, table), what=what, timeout_s=60)
    return step
