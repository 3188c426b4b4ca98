"""A label with a change planned ahead gets two frames: the image of now, and the timed
image `held` behind it (signed after it) until the image of now is acknowledged. When the
image of now is parked (the label never answered it, or refused it for a flat battery),
the held flip waits behind it for good: the parked frame is the label's update, as
`esl health` counts it (failed, offline). The audit read only the newest frame, the
held one: the label was `stale` with "update held", not `offline` with its update parked
as unreachable, and health and the audit disagreed on the same label."""

from __future__ import annotations

from datetime import timedelta

import pytest

from esl.audit.classify import AuditClass
from esl.delivery_states import ParkReason
from esl.services.health import label_health
from tests.audit.world import T0, AuditWorld

RAISED = T0 + timedelta(hours=1)  # milk 3.49 -> 3.99, a promotion planned for tomorrow
PARKED = RAISED + timedelta(minutes=5)
AUDITED = PARKED + timedelta(minutes=5)  # heard 15 minutes ago: not silent for 30


def _image_of_now_parked_in_front_of_a_flip(world: AuditWorld, reason: str) -> None:
    world.label("L1", store="S01", sku="MLK-1", at=T0)
    world.acknowledged("L1", at=T0)  # 3.49
    world.checked_in("L1", at=RAISED - timedelta(minutes=10))
    world.publish([{"action": "set_price", "sku": "MLK-1", "amount": "3.99"}], now=RAISED)
    world.planned_but_unanswered(
        "L1", at=RAISED, attempts=5, status="parked", reason=reason, parked_at=PARKED
    )
    with world.sessions.begin() as session:
        # The flip planned ahead, signed after the image of now, held behind it.
        sequence = world._frame(session, "L1", "cd" * 16, at=RAISED, status="held", attempts=0)
        world._state(session, "L1").last_sequence = sequence


@pytest.mark.parametrize(
    ("reason", "audit_class", "condition"),
    [
        (ParkReason.OFFLINE.value, AuditClass.OFFLINE, "offline"),
        (ParkReason.FLAT_BATTERY.value, AuditClass.LOW_BATTERY, "low_battery"),
    ],
)
def test_the_parked_image_of_now_is_the_update_not_the_flip_held_behind_it(
    world: AuditWorld, reason: str, audit_class: AuditClass, condition: str
) -> None:
    _image_of_now_parked_in_front_of_a_flip(world, reason)
    with world.sessions() as session:
        (health,) = label_health(session, now=AUDITED, stores=["S01"])
    assert (health.failed, getattr(health, condition)) == (1, 1)

    verdict = next(v for v in world.audit(at=AUDITED).report.labels if v.label_id == "L1")
    assert verdict.audit_class is audit_class, verdict
    assert verdict.last_reason == reason
    assert verdict.attempts == 5
    assert f"update parked ({reason})" in verdict.reason
    assert not verdict.shows_due
    assert verdict.wrong_since == RAISED
