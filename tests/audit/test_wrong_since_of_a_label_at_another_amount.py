"""A label at another amount than the due one is wrong since the due amount began,
whatever changed since at that amount (docs/audit.md, `wrong_since`): the ledger writes an
entry for a loyalty-card price beside the shelf price, or for another regular price at the
same price, too, and the newest entry is not when the label went wrong. Dated by it, a
label showing the old 3.49 for five days read as wrong for one, and `--fail-after 2d` did
not alert."""

from __future__ import annotations

from datetime import timedelta

from esl.audit.classify import AuditClass
from tests.audit.world import T0, AuditWorld

RAISED = T0 - timedelta(days=5)  # milk 3.49 -> 3.99; the label never took it
CARD = T0 - timedelta(days=1)  # a card price beside the 3.99 shelf price


def test_a_card_price_added_since_does_not_shorten_how_long_a_label_is_wrong(
    world: AuditWorld,
) -> None:
    world.label("L1", store="S01", sku="MLK-1", at=T0 - timedelta(days=20))
    world.acknowledged("L1", at=T0 - timedelta(days=20))  # 3.49
    world.publish([{"action": "set_price", "sku": "MLK-1", "amount": "3.99"}], now=RAISED)
    world.planned_but_unanswered("L1", at=RAISED, attempts=3, status="sent")
    world.publish(
        [
            {
                "action": "upsert_promotion",
                "promotion_id": "CARD-MLK",
                "name": "Milk with card",
                "kind": "loyalty_price",
                "amount": "3.79",
                "skus": ["MLK-1"],
                "channels": ["store"],
                "valid_from": CARD.isoformat(),
            }
        ],
        now=CARD,
    )
    world.checked_in("L1", at=T0 - timedelta(minutes=1))
    report = world.audit(at=T0).report
    verdict = next(v for v in report.labels if v.label_id == "L1")
    assert verdict.audit_class is AuditClass.STALE, verdict
    assert (str(verdict.shown_price), str(verdict.due_price)) == ("3.49", "3.99")
    assert verdict.wrong_since == RAISED, verdict
    assert verdict.since == RAISED
    assert [v.label_id for v in report.overdue(timedelta(days=2))] == ["L1"]
