"""An audit of an instant when a frame was parked says so, though the frame was
superseded later (planning supersedes parked frames too).

Found by review: the time of parking (migration 0018) was read only for rows still
parked, so such a frame showed as "sent" at the instant.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, update

from esl.db.models import OutboxRow
from tests.audit.world import T0, AuditWorld


def test_a_frame_parked_before_the_instant_and_superseded_after_it_was_parked_then(
    engine: Engine,
) -> None:
    world = AuditWorld(engine)
    world.label("L-1", store="S02", sku="CHS-1")
    world.acknowledged("L-1", at=T0)
    world.publish(
        [{"action": "set_price", "sku": "CHS-1", "amount": "9.49"}],
        now=T0 + timedelta(minutes=20),
    )
    world.planned_but_unanswered(
        "L-1",
        at=T0 + timedelta(minutes=20),
        attempts=5,
        status="parked",
        reason="offline",
        parked_at=T0 + timedelta(minutes=60),
    )
    world.checked_in("L-1", at=T0 + timedelta(minutes=30))
    world.checked_in("L-1", at=T0 + timedelta(minutes=50))
    # At +90 the next price supersedes the parked frame (frames.supersede_open_frames).
    with world.sessions.begin() as session:
        session.execute(
            update(OutboxRow)
            .where(OutboxRow.label_id == "L-1", OutboxRow.status == "parked")
            .values(status="superseded", settled_at=T0 + timedelta(minutes=90))
        )

    report = world.audit(at=T0 + timedelta(minutes=70), now=T0 + timedelta(hours=3)).report
    verdict = {v.label_id: v for v in report.labels}["L-1"]
    assert "update parked" in verdict.reason, (verdict.audit_class, verdict.reason)
