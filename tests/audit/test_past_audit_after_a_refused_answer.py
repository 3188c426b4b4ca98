"""`--at` just after a label refused a frame (busy, a damaged frame): the refusal says
nothing of its panel, so the past audit reads what the label said before it, as the
live audit of that instant did, not the last image it acknowledged before that."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from esl.audit.classify import AuditClass
from esl.db.models import LabelAcknowledgementRow
from esl.delivery_states import RecordedPanel
from tests.audit.world import T0, AuditWorld

RESTORED = T0 + timedelta(hours=1)  # the label reports its old image again
BUSY_AT = RESTORED + timedelta(seconds=30)  # and refuses the due image's frame: busy
AUDITED = BUSY_AT + timedelta(seconds=30)


def _label_restored_from_a_backup(world: AuditWorld) -> str:
    """L1 showed milk at 2.99, then acknowledged 3.49 (due since); at RESTORED it checks
    in showing the 2.99 image again, and at BUSY_AT it answers the frame of 3.49 sent to
    put it right with BUSY, a refusal that names no image."""
    world.publish(
        [{"action": "set_price", "sku": "MLK-1", "amount": "2.99"}], now=T0 - timedelta(days=20)
    )
    world.label("L1", store="S01", sku="MLK-1", at=T0 - timedelta(days=20))
    old_image, _ = world.acknowledged("L1", at=T0 - timedelta(days=20))
    world.publish(
        [{"action": "set_price", "sku": "MLK-1", "amount": "3.49"}], now=T0 - timedelta(days=10)
    )
    world.acknowledged("L1", at=T0 - timedelta(days=10))
    world.checked_in("L1", at=RESTORED, displayed_hash=old_image)
    world.planned_but_unanswered("L1", at=RESTORED + timedelta(seconds=5), attempts=1)
    with world.sessions.begin() as session:
        session.add(
            LabelAcknowledgementRow(
                label_id="L1",
                sequence=world.sequences["L1"],
                reason="BUSY",
                displayed_hash=None,
                acked_hash=None,
                at=BUSY_AT,
                panel=RecordedPanel.KEPT,  # as the pipeline keeps a refusal
                heard=True,
            )
        )
    return old_image


def test_a_refused_answer_leaves_the_panel_its_check_in_reported(world: AuditWorld) -> None:
    old_image = _label_restored_from_a_backup(world)
    live = next(v for v in world.audit(at=AUDITED).report.labels if v.label_id == "L1")
    assert live.audit_class is AuditClass.STALE
    assert (live.shown_price, live.due_price) == (Decimal("2.99"), Decimal("3.49"))

    # The same instant audited a day later says what the live audit said then: the
    # label showed 2.99, not the 3.49 it acknowledged ten days before (a false match).
    later = T0 + timedelta(days=1)
    past = next(v for v in world.audit(at=AUDITED, now=later).report.labels if v.label_id == "L1")
    assert past.shown_hash == old_image
    assert past.audit_class is AuditClass.STALE
    assert (past.shown_price, past.due_price) == (Decimal("2.99"), Decimal("3.49"))
    assert not past.shows_due
