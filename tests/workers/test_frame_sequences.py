"""Two workers that both hold a store for a moment (one whose leases went stale while its
pipeline thread still plans, and the one that took the store over) may plan one label at
once. Each must sign its frame with its own sequence number: a label accepts a sequence
number once, so of two frames signed with the same one it takes whichever arrives first
and refuses the other as stale (STALE_SEQUENCE), and the controller, which matches an
answer to its frame by (label, sequence), may record the refused one as shown.

Here the taking-over worker plans a price change and is held, after it signed, by a lock
the test keeps on `rendered_contents` (its chunk's next write); meanwhile a newer price is
published and the stale worker plans it. Its chunk waits on the labels' states, then
meets the fence (tests/workers/test_lease_fencing.py): S01 is no longer its store, so
it commits nothing, and the taking-over worker plans the newer price in its next pass.
The frames go to the firmware_sim labels through both workers' dispatchers: every label
must accept every frame it gets and end showing the newer price, as the controller
records.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, text

from gateways.base import Uplink
from gateways.protocol import ReasonCode, decode_response
from tests.pipeline.in_memory_gateway import InMemoryGateway
from tests.pipeline.small_world import PRICES_A, World
from tests.support.pipeline import publish_prices
from tests.workers.world_workers import plan_to_the_end, step_until_waiting, worker_in

pytestmark = pytest.mark.integration

OPEN = ("pending", "sent", "held")


async def test_two_workers_planning_one_label_never_sign_one_sequence_number_twice(
    engine: Engine,
) -> None:
    world = World(engine, count=2)
    now = world.clock.now
    # The stale worker took every store 30 s ago and has not renewed since; the other
    # worker, balancing now, takes them all over. The stale one still believes it holds
    # them (its pipeline thread follows its last balance).
    stale_gateway = InMemoryGateway()
    stale = worker_in(world, at=now - timedelta(seconds=30), gateway=stale_gateway)
    holder = worker_in(world, at=now, gateway=world.gateway)
    assert stale.stores == holder.stores
    assert "S01" in (holder.stores or ())
    world.controller, world.dispatcher = holder, holder.dispatcher
    publish_prices(world.sessions, PRICES_A, now=now)
    await world.converge()

    blocker = world.sessions()
    blocker.begin()
    blocker.execute(text("LOCK TABLE rendered_contents IN SHARE ROW EXCLUSIVE MODE"))
    # Each worker's planning pass, a chunk at a time, as its pipeline thread runs it: the
    # dispatcher sends what a chunk planned before the next chunk.
    holder_steps, stale_steps = holder._planning_steps(), stale._planning_steps()
    try:
        world.clock.advance(timedelta(seconds=5))
        publish_prices(world.sessions, {"MLK-1": "3.79"}, now=world.clock.now)
        holder_plans = await step_until_waiting(
            engine,
            holder,
            holder_steps,
            table="rendered_contents",
            what="the holder's chunk, signed, waiting to store its new image",
        )
        assert not holder_plans.done()
        world.clock.advance(timedelta(seconds=5))
        publish_prices(world.sessions, {"MLK-1": "3.99"}, now=world.clock.now)
        stale_plans = await step_until_waiting(
            engine,
            stale,
            stale_steps,
            table="label_states",
            what="the stale worker's chunk meeting the holder's on the labels' states",
        )
    finally:
        blocker.rollback()
        blocker.close()
    assert await holder_plans
    assert await stale_plans == 0  # fenced: S01 is the holder's
    assert "S01" not in (stale.stores or ())

    # Both workers send what is open in the store (each believes it holds it); each label
    # answers every frame it gets, and the worker that sent it settles the answer.
    refused: list[str] = []

    async def deliver() -> None:
        for worker, gateway in ((holder, world.gateway), (stale, stale_gateway)):
            worker.dispatcher.step()
            await worker.dispatcher.sends_done()
            uplinks: list[Uplink] = []
            for downlink in gateway.take():
                label = world.labels[downlink.label_id]
                answer = label.receive(downlink.payload, now=world.clock.now)
                if answer is None:
                    continue
                response = decode_response(answer, key=world.keys[downlink.label_id])
                if response.reason is not ReasonCode.SUCCESS and not response.reason.is_transient:
                    # (A panel still drawing answers RETRY: the frame is sent again.)
                    refused.append(
                        f"{label.label_id} seq {response.sequence}: {response.reason.name}"
                    )
                uplinks.append(Uplink(downlink.store, downlink.gateway, answer, world.clock.now))
            worker.dispatcher.settle(uplinks)

    await deliver()
    # The rest of both passes, then both workers until nothing is open.
    plan_to_the_end((holder, holder_steps), (stale, stale_steps))
    for _ in range(30):
        world.clock.advance(timedelta(seconds=5))
        holder.plan_due_work()
        stale.plan_due_work()
        await deliver()
        if all(status not in OPEN for label in world.labels for _, status in world.rows(label)):
            break
    else:
        rows = {label: world.rows(label) for label in world.labels}
        raise AssertionError(f"frames still open after 30 rounds: {rows}, refused {refused}")

    assert refused == [], "labels refused frames the controller signed"
    for label_id, label in world.labels.items():
        assert label.shown_hash is not None
        shown = label.shown_hash.hex()
        assert shown == world.hash_of(label_id), f"{label_id} does not show 3.99"
        assert world.state(label_id).confirmed_hash == shown, f"{label_id}'s record"
