"""`--at T` of a label that drew a frame whose answer was lost, the price back to the one
it last reported before it answered again: the live audit says `unconfirmed` (a frame of
another image was signed and sent after its newest believed answer, and the panel may
show it: `UnansweredFrame`); the past audit must never say `match` there.

The past audit reads no frames sent unanswered (`gather._gather`: `claims = {}` for a
past instant), so it reads the label's last word, the due 3.49, and says `match` while
the panel shows 2.49 (found by review).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine

from tests.audit.test_past_audit_reads_the_panel_as_the_pipeline_took_it import (
    _audit_items,
    _differing,
)
from tests.pipeline.in_memory_gateway import radio
from tests.pipeline.small_world import SHELF_RIGHT, World
from tests.support.pipeline import publish_prices


async def test_the_past_audit_never_calls_right_a_panel_the_live_audit_doubted(
    engine: Engine,
) -> None:
    world = World.priced(engine, count=1)
    await world.converge()  # 3.49, acknowledged and shown
    (label_id,) = world.labels
    due = world.hash_of(label_id)
    world.clock.advance(timedelta(minutes=1))
    publish_prices(world.sessions, {"MLK-1": "2.49"}, now=world.clock.now)
    world.controller.plan_due_work()
    await world.send_due()
    assert radio(world.gateway.take(), world.labels, now=world.clock.now), "answers, lost"
    world.clock.advance(timedelta(minutes=1))
    publish_prices(world.sessions, {"MLK-1": "3.49"}, now=world.clock.now)

    async with world.admin_api() as client:
        found = []
        for _ in range(3):
            await world.run_until(world.clock.now + timedelta(minutes=1), out_of_reach={label_id})
            assert world.hash_of(label_id) == due != world.panel_hash(label_id)  # 2.49 shown
            found.append((world.clock.now, (await _audit_items(client))[label_id]))
        world.clock.advance(timedelta(days=1))
        found = [(at, live, (await _audit_items(client, at))[label_id]) for at, live in found]
    assert [live["class"] for _, live, _ in found] == ["unconfirmed"] * 3, found
    assert [past["class"] for _, _, past in found if past["class"] in SHELF_RIGHT] == []
    assert _differing(found) == []
