"""What `esl audit --fail-after` needs beyond the report (docs/audit.md, Outputs): since
when each label with a prior-price problem has shown the image that prints it, and when
the store price of a product no longer sold ended, for its labels still showing a price.

A label at the due price with a wrong prior price has no `wrong_since` (its price is
right), so the report alone cannot age it; its kept reports can, as they date a
tampered label's image. A label on a product no longer sold is dated by its binding in
the report; the ledger's withdrawal says when its price stopped being sold. Only those
few labels are read."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from esl.audit.classify import AuditClass
from esl.audit.label_reads import reporting_since
from esl.audit.report import AuditReport
from esl.db.repositories.ledger import store_price_runs

__all__ = ["images_shown_since", "prices_withdrawn"]


def images_shown_since(session: Session, report: AuditReport) -> dict[str, datetime]:
    """Label id -> its first report, by the report's instant, of the image it shows
    after its last report of another, for each label with a prior-price problem."""
    shown = {v.label_id: v.shown_hash for v in report.labels}
    reported = {
        p.label_id: digest
        for p in report.prior_price_problems
        if (digest := shown.get(p.label_id)) is not None
    }
    return reporting_since(session, reported, at=report.at) if reported else {}


def prices_withdrawn(session: Session, report: AuditReport) -> dict[str, datetime]:
    """Label id -> when its product's store price was withdrawn (the ledger's entry in
    force at the report's instant), for each label on a product no longer sold that
    shows a price. A label whose product has no withdrawal in force is left out."""
    unsold = [
        v
        for v in report.labels
        if v.audit_class is AuditClass.NO_LONGER_SOLD and v.shown_price is not None
    ]
    if not unsold:
        return {}
    runs = store_price_runs(session, {(v.sku, v.store) for v in unsold}, at=report.at)
    return {
        v.label_id: run.started
        for v in unsold
        if (run := runs.get((v.sku, v.store))) is not None and run.price is None
    }
