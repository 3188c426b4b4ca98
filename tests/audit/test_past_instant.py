"""`--at`: what each shelf showed at a past instant, from the ledger and acknowledgements."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import update

from esl.audit.classify import AuditClass
from esl.db.models import OutboxRow
from tests.audit.scenario import AUDIT_AT, T1, build_chain
from tests.audit.world import T0, AuditWorld


def test_before_the_price_change_the_later_stale_label_was_a_match(world: AuditWorld) -> None:
    build_chain(world)
    before = T0 + timedelta(minutes=20)  # every label was heard at T0
    report = world.audit(at=before, now=AUDIT_AT).report
    found = {v.label_id: v for v in report.labels}
    stale_then = found["L-stale"]
    assert stale_then.audit_class is AuditClass.MATCH
    assert (stale_then.shown_price, stale_then.due_price) == (Decimal("8.99"), Decimal("8.99"))
    # The tampered image was reported later: then, the label showed what it confirmed.
    assert found["L-tampered"].audit_class is AuditClass.INTENDED_DIFFERENCE
    # The flat label's update was parked only later, and a battery is not in the history.
    assert found["L-flat"].audit_class is AuditClass.MATCH
    # Silent since T0, but only for 20 minutes then.
    assert found["L-offline"].audit_class is AuditClass.MATCH
    later = world.audit(at=T1 - timedelta(minutes=1), now=AUDIT_AT).report
    offline = next(v for v in later.labels if v.label_id == "L-offline")
    assert offline.audit_class is AuditClass.OFFLINE


def test_a_past_instant_sees_the_update_that_was_open_then(world: AuditWorld) -> None:
    build_chain(world)
    world.checked_in("L-stale", at=T1 + timedelta(minutes=20))  # still the old image
    world.acknowledged("L-stale", at=AUDIT_AT - timedelta(seconds=30))
    then = world.audit(at=T1 + timedelta(minutes=30), now=AUDIT_AT).report
    now = world.audit(at=AUDIT_AT).report
    stale_then = next(v for v in then.labels if v.label_id == "L-stale")
    stale_now = next(v for v in now.labels if v.label_id == "L-stale")
    assert stale_then.audit_class is AuditClass.STALE
    assert stale_then.attempts == 3
    assert stale_then.age(then.at) == timedelta(minutes=30)
    assert stale_now.audit_class is AuditClass.MATCH


def test_labels_bound_after_the_instant_are_not_audited(world: AuditWorld) -> None:
    build_chain(world)
    world.label("L-late", store="S01", sku="OLD-1", at=T1)
    earlier = world.audit(at=T0 + timedelta(minutes=5), now=AUDIT_AT).report
    assert "L-late" not in {v.label_id for v in earlier.labels}
    later = world.audit(at=AUDIT_AT).report
    assert "L-late" in {v.label_id for v in later.labels}


def test_a_parking_after_the_instant_is_not_seen_at_it(world: AuditWorld) -> None:
    # A new price's frame is sent at +20 min; the label checks in at +30 and +50 (a
    # check-in revives an update parked offline), and the frame is parked at +60.
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

    def verdict_at(minutes: int) -> tuple[AuditClass, str]:
        at = T0 + timedelta(minutes=minutes)
        report = world.audit(at=at, now=T0 + timedelta(hours=3)).report
        verdict = {v.label_id: v for v in report.labels}["L-1"]
        return verdict.audit_class, verdict.reason

    # At +40 the label had been heard 10 minutes before and its update was on its way.
    audit_class, reason = verdict_at(40)
    assert audit_class is AuditClass.STALE
    assert "update sent since" in reason
    assert "parked" not in reason
    # After +60 the update was parked: what the audit of that instant says.
    assert "update parked" in verdict_at(70)[1]
    # So it stays when the next price supersedes the parked frame at +90 (planning
    # supersedes parked frames too).
    with world.sessions.begin() as session:
        session.execute(
            update(OutboxRow)
            .where(OutboxRow.label_id == "L-1", OutboxRow.status == "parked")
            .values(status="superseded", settled_at=T0 + timedelta(minutes=90))
        )
    assert "update parked" in verdict_at(70)[1]
    assert "parked" not in verdict_at(40)[1]
