"""A label holds one timed image, the earliest; when that instant passes, a worker plans
the changes still ahead for the stores it holds (`_plan_after_flips`), so the label
flips to the next one on its own clock, on time. A store a worker takes over after its
look saw the first instant pass (its previous holder gone before that instant) was not
in that look: its takeover re-plan planned the image of now only, and nothing gave its
labels the second change ahead until that instant had passed too. The shelf then kept
the old price past the instant, until the worker's next poll and the label's next
check-in. The takeover re-plan now plans the changes ahead of the stores taken too.

Real parts: PostgreSQL, two worker controllers (planner, dispatcher, settlement) and
firmware_sim labels that flip timed images on the same test clock.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine

from tests.pipeline.small_world import PRICES_A, World
from tests.support.pipeline import publish_prices
from tests.workers.world_workers import follow_balance, serving, worker_in

pytestmark = pytest.mark.integration


async def test_a_store_taken_over_between_two_instants_flips_at_the_second(
    engine: Engine,
) -> None:
    world = World(engine, count=2)
    start = world.clock.now
    # The first worker holds every store; the second, joining a second later, none yet.
    first = worker_in(world, at=start, gateway=world.gateway)
    second = worker_in(world, at=start + timedelta(seconds=1), gateway=world.gateway)
    assert "S01" in (first.stores or ())
    assert not second.stores
    serving(world, first)
    publish_prices(world.sessions, PRICES_A, now=start)
    await world.converge()
    second.plan_due_work()  # the second worker's passes go on meanwhile

    # Two changes ahead: the labels get the first as a timed image (one at a time).
    instant_1, instant_2 = start + timedelta(minutes=2), start + timedelta(minutes=4)
    publish_prices(world.sessions, {"MLK-1": "3.79"}, now=start, effective_at=instant_1)
    publish_prices(world.sessions, {"MLK-1": "3.99"}, now=start, effective_at=instant_2)
    await world.converge()
    for label_id in world.labels:
        assert world.state(label_id).desired_display_at == instant_1

    # The first worker dies; the first instant passes (the labels flip on their own) and
    # the second worker's look sees it pass, before it took the store.
    world.clock.now = instant_1 + timedelta(seconds=5)
    second.plan_due_work()
    # Then it takes over every store (the first one's leases are stale) and plans them.
    follow_balance(world, second, at=world.clock.now)
    assert "S01" in (second.stores or ())
    serving(world, second)
    await world.converge()
    for label_id in world.labels:
        world.check_in(label_id)  # (the label's clock: past the first instant)
        assert world.labels[label_id].shown_hash.hex() == world.hash_of(label_id)

    # The second instant passes: each label flips on its own clock, before any poll.
    world.clock.now = instant_2 + timedelta(seconds=1)
    for label_id, label in world.labels.items():
        world.check_in(label_id)
        assert label.shown_hash is not None
        assert label.shown_hash.hex() == world.hash_of(label_id), f"{label_id} kept 3.79"
