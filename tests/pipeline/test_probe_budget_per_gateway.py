"""Probes via another gateway of the store: the hourly budget is per label and gateway, so a
replay via one gateway never holds off the probe of the label really at another."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine

from esl.db.models import LabelRow
from tests.pipeline.in_memory_gateway import radio
from tests.pipeline.small_world import World
from tests.support.audit import audit_by_label
from tests.support.pipeline import publish_prices
from tests.support.two_gateways import add_gateway, rounds, two_gateway_world, via


def _gateway_of(world: World, label_id: str) -> str | None:
    with world.sessions() as session:
        label = session.get(LabelRow, label_id)
        assert label is not None
        return label.gateway


async def test_a_label_with_a_new_battery_carried_to_gw2_and_back_to_gw1(engine: Engine) -> None:
    world, label_id = await two_gateway_world(engine)
    publish_prices(world.sessions, {"MLK-1": "2.99"}, now=world.clock.now)
    label = world.labels[label_id]
    label.set_battery_mv(3000)
    label.clock_offset_ms = -86_400_000
    await rounds(world, label_id, 10, reaches="gw2")
    assert _gateway_of(world, label_id) == "gw2"
    assert world.panel_hash(label_id) == world.hash_of(label_id)
    # Carried back to gw1 ten minutes later; a new price.
    world.clock.advance(timedelta(minutes=10))
    publish_prices(world.sessions, {"MLK-1": "2.79"}, now=world.clock.now)
    through = await rounds(world, label_id, 10, reaches="gw1")
    assert _gateway_of(world, label_id) == "gw1", through
    assert world.panel_hash(label_id) == world.hash_of(label_id), (through, world.rows(label_id))
    verdict = audit_by_label(world.sessions, world.clock.now)[label_id]
    assert verdict.audit_class.value == "match", verdict


async def test_a_replay_via_gw3_does_not_hold_off_the_probe_of_a_label_really_at_gw2(
    engine: Engine,
) -> None:
    """gw3's login replays an old check-in of the gw1 label: one probe via gw3, not
    answered. Minutes later the label really is carried to gw2 with a new battery: its
    check-ins via gw2 are older than the claim held, exactly the case a probe is for, but
    the probe budget (one an hour per label, whatever the gateway) was spent on gw3."""
    world, label_id = await two_gateway_world(engine)
    add_gateway(world, "gw3")
    old = world.check_in(label_id)
    world.dispatcher.settle([old])
    world.clock.advance(timedelta(minutes=5))
    world.dispatcher.settle([world.check_in(label_id)])
    world.dispatcher.settle([via(old, "gw3")])  # gw3's login replays
    through0 = await rounds(world, label_id, 2, reaches="gw1")
    assert "gw3" in through0, through0  # the probe via gw3 went out, unanswered
    publish_prices(world.sessions, {"MLK-1": "2.99"}, now=world.clock.now)
    label = world.labels[label_id]
    label.set_battery_mv(3000)
    label.clock_offset_ms = -86_400_000
    through = await rounds(world, label_id, 20, reaches="gw2")  # ten minutes
    assert world.panel_hash(label_id) == world.hash_of(label_id), (
        f"ten minutes at gw2 the label still shows the old price: sent via {through}"
    )


async def test_gw3_replaying_keeps_a_label_really_at_gw2_stale_for_hours(engine: Engine) -> None:
    """gw3's login publishes an old check-in of the gw1 label again and again (as
    test_a_replayed_older_check_in_via_another_gateway_probes_there_once_and_moves_nothing
    does via gw2). The label is really at gw2 with a new battery. Every hour the probe
    goes via gw3, never via gw2: two and a half hours later it still shows the old price."""
    world, label_id = await two_gateway_world(engine)
    add_gateway(world, "gw3")
    old = world.check_in(label_id)
    world.dispatcher.settle([old])
    world.clock.advance(timedelta(minutes=5))
    world.dispatcher.settle([world.check_in(label_id)])
    publish_prices(world.sessions, {"MLK-1": "2.99"}, now=world.clock.now)
    label = world.labels[label_id]
    label.set_battery_mv(3000)
    label.clock_offset_ms = -86_400_000
    through: list[str] = []
    minutes = 0.0
    for _ in range(300):  # 30 s rounds; gw3's login publishes its replay as often as it likes
        world.clock.advance(timedelta(seconds=30))
        world.dispatcher.settle([via(old, "gw3")])
        world.controller.plan_due_work()
        await world.send_due()
        sent = world.gateway.take()
        through += [downlink.gateway for downlink in sent]
        reached = [downlink for downlink in sent if downlink.gateway == "gw2"]
        world.dispatcher.settle(radio(reached, world.labels, now=world.clock.now))
        world.dispatcher.settle([via(old, "gw3")])
        if world.labels[label_id].status_report(now=world.clock.now) is None:
            break  # the label, sent nothing for so long, dropped its association (blank)
        minutes += 0.5
        world.dispatcher.settle([via(world.check_in(label_id), "gw2")])
    assert world.panel_hash(label_id) == world.hash_of(label_id), (
        f"{minutes} minutes at gw2 the label still shows the old price (then gave up its "
        "association, or 2.5 h passed): sent via "
        f"gw1 x{through.count('gw1')}, gw2 x{through.count('gw2')}, gw3 x{through.count('gw3')}"
    )
