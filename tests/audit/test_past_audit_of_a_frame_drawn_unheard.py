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

from gateways.base import GatewayState, GatewayStatus
from tests.audit.test_past_audit_reads_the_panel_as_the_pipeline_took_it import (
    _audit_items,
    _differing,
)
from tests.pipeline.in_memory_gateway import radio
from tests.pipeline.small_world import SHELF_RIGHT, World
from tests.support.pipeline import publish_prices


async def _drawn_unheard_then_priced_back(world: World) -> None:
    """A minute on, 2.49 sent and drawn, its answers lost; a minute later 3.49 again."""
    world.clock.advance(timedelta(minutes=1))
    publish_prices(world.sessions, {"MLK-1": "2.49"}, now=world.clock.now)
    world.controller.plan_due_work()
    await world.send_due()
    assert radio(world.gateway.take(), world.labels, now=world.clock.now), "answers, lost"
    world.clock.advance(timedelta(minutes=1))
    publish_prices(world.sessions, {"MLK-1": "3.49"}, now=world.clock.now)


async def test_the_past_audit_never_calls_right_a_panel_the_live_audit_doubted(
    engine: Engine,
) -> None:
    world = World.priced(engine, count=1)
    await world.converge()  # 3.49, acknowledged and shown
    (label_id,) = world.labels
    due = world.hash_of(label_id)
    await _drawn_unheard_then_priced_back(world)

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


async def test_an_instant_a_few_seconds_back_is_audited_as_the_live_audit_saw_it(
    engine: Engine,
) -> None:
    """A caller whose clock runs three seconds behind ours asks for its now: a past
    audit. Nothing happened in those seconds, so it must say what the live audit says:
    the frame drawn unheard weighed (`unconfirmed`), and the battery the label last
    reported, not heard since (`low_battery`), which the kept words do not carry."""
    world = World.priced(engine, count=3)
    await world.converge()  # 3.49, acknowledged and shown
    drawn, flat, _ = sorted(world.labels)
    await _drawn_unheard_then_priced_back(world)
    world.labels[flat].set_battery_mv(2_500)
    await world.run_until(world.clock.now + timedelta(minutes=2), out_of_reach={drawn})
    assert world.hash_of(drawn) != world.panel_hash(drawn)  # 2.49 shown
    at = world.clock.now + timedelta(seconds=1)
    world.clock.advance(timedelta(seconds=4))

    async with world.admin_api() as client:
        live = await _audit_items(client)
        past = await _audit_items(client, at)
    assert (live[drawn]["class"], live[flat]["class"]) == ("unconfirmed", "low_battery")
    found = [(at, live[label_id], past[label_id]) for label_id in sorted(world.labels)]
    assert _differing(found) == []
    assert [p["class"] for _, _, p in found] == [lv["class"] for _, lv, _ in found]


async def test_an_instant_a_few_seconds_back_reads_the_gateway_offline_since(
    engine: Engine,
) -> None:
    """The store gateway went offline before the instant, and said nothing since: its
    labels are `offline` a few seconds back as now (the live audit), not `match`."""
    world = World.priced(engine, count=1)
    await world.converge()
    (label_id,) = world.labels
    world.clock.advance(timedelta(minutes=1))
    world.dispatcher.handle_event(
        GatewayStatus("S01", "gw1", GatewayState.OFFLINE, world.clock.now, "power cut")
    )
    world.dispatcher.step()
    at = world.clock.now + timedelta(seconds=1)
    world.clock.advance(timedelta(seconds=4))

    async with world.admin_api() as client:
        live = (await _audit_items(client))[label_id]
        past = (await _audit_items(client, at))[label_id]
        before = (await _audit_items(client, at - timedelta(seconds=2)))[label_id]
    assert live["class"] == past["class"] == "offline", (live, past)
    assert before["class"] == "match"  # online until then
