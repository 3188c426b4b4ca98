"""Review37: a reset label (count back at 0, same key) that took a replayed old frame, its
genuine acknowledgement relayed to the controller a few minutes late (a store gateway
that queued its answers while its broker link was down, docs/protocol.md: answers are
kept in the gateway's outbox and published when it connects again). Since 3a93325 the
answer must be "signed now" (within SIGNED_NOW, 2 minutes) to be taken for a reset
label's; 8f172a6 took it (signed after the claim held). Refused as a capture, the record
goes on saying the new price is shown and the audit says `match` while the shelf shows
the old price: with no check-in relayed (a BLE label, a gateway that reports none),
until a keep-alive ping's answer."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from sqlalchemy import Engine

from esl.audit.classify import AuditClass
from tests.pipeline.in_memory_gateway import radio
from tests.pipeline.small_world import World
from tests.pipeline.test_reset_label_given_an_old_frame import (
    a_captured_first_price,
    audit_class,
    reset_to_factory,
)


async def test_a_reset_label_whose_answer_is_relayed_late_is_not_called_match(
    engine: Engine,
) -> None:
    world = World(engine, count=1)
    label_id = sorted(world.labels)[0]
    captured, first = await a_captured_first_price(world, label_id)
    world.clock.advance(timedelta(minutes=5))
    reset_to_factory(world, label_id)

    world.clock.advance(timedelta(seconds=30))
    answers = radio(captured, world.labels, now=world.clock.now)  # the replay, taken
    assert world.panel_hash(label_id) == first  # the shelf shows the old price again
    world.clock.advance(timedelta(minutes=3))  # the gateway's link was down: relayed late
    world.dispatcher.settle([replace(a, received_at=world.clock.now) for a in answers])

    matched_for = timedelta(0)
    while (
        audit_class(world, label_id) is AuditClass.MATCH
        and world.panel_hash(label_id) == first  # the shelf still shows the old price
        and matched_for < timedelta(hours=1)
    ):
        await world.run_until(world.clock.now + timedelta(seconds=10))
        matched_for += timedelta(seconds=10)
    assert matched_for == timedelta(0), (
        f"the audit said match for {matched_for} while the reset label showed the old "
        "price it signed for (its answer relayed 3 minutes late)"
    )
