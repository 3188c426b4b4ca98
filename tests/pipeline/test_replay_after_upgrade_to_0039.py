"""Migration 0039 leaves `latest_label_time` NULL for every label known before. For a label
whose clock was set back before the upgrade, the claim held is the reading of its clock set
right, so it cannot stand in: a capture signed while the clock ran fast (before the
upgrade), replayed after the upgrade once the label's clock reads again what it read then,
must still cost nothing (no record forgotten, no frame), as docs/protocol.md promises; a
label with no reading kept is not taken for one whose count went back until its next
answer."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from alembic import command
from sqlalchemy import Engine

from esl.audit.classify import AuditClass
from esl.db.engine import migrations_config, upgrade_database
from tests.pipeline.in_memory_gateway import radio
from tests.pipeline.small_world import World
from tests.support.audit import audit_by_label
from tests.support.pipeline import publish_prices


def audit_class(world: World, label_id: str) -> AuditClass:
    return audit_by_label(world.sessions, world.clock.now)[label_id].audit_class


async def test_a_capture_from_before_the_upgrade_replayed_after_it_costs_nothing(
    engine: Engine,
) -> None:
    world = World.priced(engine, count=1)
    await world.converge()
    (label_id,) = world.labels
    world.labels[label_id].clock_offset_ms += 10 * 60 * 1000  # its clock 10 minutes fast
    world.clock.advance(timedelta(minutes=1))

    publish_prices(world.sessions, {"MLK-1": "2.99"}, now=world.clock.now)
    world.controller.plan_due_work()
    await world.send_due()
    captured = radio(world.gateway.take(), world.labels, now=world.clock.now)
    assert captured
    world.dispatcher.settle(captured)
    await world.run_until(world.clock.now + timedelta(minutes=1))  # the SetClock
    assert abs(world.labels[label_id].clock_offset_ms) < 60_000

    world.clock.advance(timedelta(minutes=1))
    publish_prices(world.sessions, {"MLK-1": "2.79"}, now=world.clock.now)
    await world.converge()
    assert audit_class(world, label_id) is AuditClass.MATCH
    opened = len(world.rows(label_id))

    # The operator upgrades: the database was at 0038 (no latest_label_time) and goes to
    # head, as `esl db upgrade` does. Every fact else is kept.
    world.engine.dispose()
    command.downgrade(migrations_config(engine), "0038")
    upgrade_database(engine)
    assert world.state(label_id).latest_label_time is None

    # Nine minutes on, the label's clock set right reads what it read when it signed the
    # capture; the capture is published again.
    world.clock.advance(timedelta(minutes=9))
    world.dispatcher.settle([replace(c, received_at=world.clock.now) for c in captured])

    assert world.panel_hash(label_id) == world.hash_of(label_id)  # the shelf shows 2.79
    assert world.state(label_id).confirmed_hash == world.hash_of(label_id), (
        "a capture from before the upgrade made the record forget a correct panel"
    )
    assert audit_class(world, label_id) is AuditClass.MATCH
    await world.run_until(world.clock.now + timedelta(minutes=2))
    assert len(world.rows(label_id)) == opened, "a replay cost a frame"
