"""Two of today's changes meeting others.

A panel swapped for another model (a provisioning file naming it, bee415c) is blank: the
record's image was drawn on the old panel, and the audit called the shelf `match` while
the new panel's image was on its way, or lost, for as long as no check-in came.

A probe via another gateway (f60682f) asked while the host clock ran two hours fast held
off the next one for three hours once NTP set the clock right, and the label reached only
via gw2 kept the old price: stamps ahead of now (`stamps_ahead`) were not allowed for."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from sqlalchemy import Engine

from esl.db.console_models import LabelActionRow
from esl.db.models import LabelRow
from esl.pipeline import register_provisioned_labels
from esl.pipeline.action_kinds import ActionKind, ActionStatus
from esl.pipeline.label_actions import CONTROLLER
from firmware_sim.fleet import build_labels, make_fleet
from firmware_sim.images import ImageStore
from tests.pipeline.in_memory_gateway import radio
from tests.pipeline.small_world import World
from tests.support.audit import audit_by_label
from tests.support.pipeline import publish_prices
from tests.support.two_gateways import rounds, two_gateway_world


async def _swapped_for_a_bw_panel(world: World) -> str:
    """The label showing 3.49 on a 2.9-bwr, swapped for a blank 2.9-bw with the same key
    and its gateway's file imported: the label's id."""
    (label_id,) = world.labels
    world.clock.advance(timedelta(minutes=1))
    (provision,) = make_fleet(store="S01", gateway="gw1", count=1)
    swapped = dataclasses.replace(provision, model_id="2.9-bw", key=world.keys[label_id])
    (world.labels[label_id],) = build_labels([swapped], now=world.clock.now, images=ImageStore())
    with world.sessions.begin() as session:
        register_provisioned_labels(
            session, [swapped], store="S01", gateway="gw1", now=world.clock.now
        )
    return label_id


async def test_a_swapped_panel_whose_image_is_lost_is_never_called_match(
    engine: Engine,
) -> None:
    world = await World.showing(engine, {"MLK-1": "3.49"}, count=1)
    label_id = await _swapped_for_a_bw_panel(world)
    seen = []
    for _ in range(30):  # five minutes; every frame lost: the gateway cannot reach it
        world.clock.advance(timedelta(seconds=10))
        world.controller.plan_due_work()
        await world.send_due()
        assert world.gateway.take() is not None
        verdict = audit_by_label(world.sessions, world.clock.now)[label_id]
        seen.append((verdict.audit_class.value, verdict.reason))
    assert all(audit_class != "match" for audit_class, _ in seen), seen


async def test_a_swapped_panel_is_match_once_its_new_image_lands(engine: Engine) -> None:
    world = await World.showing(engine, {"MLK-1": "3.49"}, count=1)
    label_id = await _swapped_for_a_bw_panel(world)
    assert audit_by_label(world.sessions, world.clock.now)[label_id].audit_class.value != "match"
    world.clock.advance(timedelta(seconds=1))
    world.controller.plan_due_work()
    await world.send_due()
    world.dispatcher.settle(radio(world.gateway.take(), world.labels, now=world.clock.now))
    assert world.panel_hash(label_id) == world.hash_of(label_id)
    assert audit_by_label(world.sessions, world.clock.now)[label_id].audit_class.value == "match"


async def test_a_probe_asked_on_a_clock_since_set_back_does_not_hold_off_the_next(
    engine: Engine,
) -> None:
    world, label_id = await two_gateway_world(engine)
    with world.sessions.begin() as session:
        # Asked while the host clock ran two hours fast, never answered (the label was
        # still on its way); NTP has set the clock right since.
        session.add(
            LabelActionRow(
                label_id=label_id,
                action=ActionKind.PING.value,
                status=ActionStatus.UNANSWERED.value,
                requested_by=CONTROLLER,
                requested_at=world.clock.now + timedelta(hours=2),
                via_gateway="gw2",
            )
        )
    publish_prices(world.sessions, {"MLK-1": "2.99"}, now=world.clock.now)
    label = world.labels[label_id]
    label.set_battery_mv(3000)
    label.clock_offset_ms = -86_400_000  # a new battery: its clock a day behind
    # ten minutes: only gw2 reaches it, and it checks in via gw2
    through = await rounds(world, label_id, 20, reaches="gw2")
    verdict = audit_by_label(world.sessions, world.clock.now)[label_id]
    assert world.panel_hash(label_id) == world.hash_of(label_id), (
        f"sent via gw1 x{through.count('gw1')}, via gw2 x{through.count('gw2')}; "
        f"audit {verdict.audit_class.value}"
    )


async def test_a_preview_draws_no_label_that_no_gateway_reaches(engine: Engine) -> None:
    # LabelPlanner.draw (the console's upload preview) draws what `plan` would plan: a
    # label taken off its gateway is planned nothing, so it has no sample either.
    world = await World.showing(engine, {"MLK-1": "3.49"}, count=2)
    reached, unreached = sorted(world.labels)
    with world.sessions.begin() as session:
        label = session.get(LabelRow, unreached)
        assert label is not None
        label.gateway = None
    with world.sessions() as session:
        drawn = world.controller.planner.draw(session, [reached, unreached], at=world.clock.now)
    assert set(drawn) == {reached}
    assert drawn[reached].content_hash.hex() == world.panel_hash(reached)
