"""An audit after a currency change still reports every label.

Found by review: a promoted SKU whose 30-day ledger is in the old currency made its price
unresolvable (CurrencyMismatchError, rightly), and that error stopped the audit of every
store. Now that label has no due price (logged) and the rest is audited as before.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, update

from esl.audit.gather import gather_audit
from esl.db.models import PriceRuleRow, PromotionRow
from tests.audit.world import T0, AuditWorld


def test_an_audit_after_a_currency_change_still_reports_every_label(engine: Engine) -> None:
    world = AuditWorld(engine)
    world.publish(
        [
            {
                "action": "upsert_promotion",
                "promotion_id": "P-CFE",
                "kind": "percent_off",
                "percent": "20",
                "skus": ["CFE-1"],
            }
        ],
        now=T0 - timedelta(days=2),
    )
    world.label("L-milk", store="S01", sku="MLK-1")
    world.label("L-coffee", store="S01", sku="CFE-1")
    world.acknowledged("L-milk", at=T0)
    world.acknowledged("L-coffee", at=T0)
    # The chain moves to the euro (ESL_CURRENCY=EUR): its rules are now in euros, the
    # ledger keeps what customers paid in zloty.
    with world.sessions.begin() as session:
        session.execute(update(PriceRuleRow).values(currency="EUR"))
        session.execute(
            update(PromotionRow).where(PromotionRow.currency.is_not(None)).values(currency="EUR")
        )

    with world.sessions() as session:
        gathered = gather_audit(
            session,
            at=T0 + timedelta(hours=1),
            now=T0 + timedelta(hours=1),
            currency="EUR",
            stores=None,
            thresholds=None,
            locale="pl_PL",
        )
    verdicts = {v.label_id: v for v in gathered.report.labels}
    assert {"L-milk", "L-coffee"} <= set(verdicts)
    assert verdicts["L-coffee"].due_price is None  # its prior price cannot be worked out
