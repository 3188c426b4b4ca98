"""What `esl audit --fail-after` needs beyond the report (docs/audit.md, Outputs): since
when each label with a prior-price problem has printed the wrong prior price, and when
the store price of a product no longer sold ended, for its labels still showing a price.

A label at the due price with a wrong prior price has no `wrong_since` (its price is
right), so the report alone cannot age it. It shows the wrong line since its first
report of the image it shows (its kept reports date it, as they date a tampered label's
image), at the latest. If the record, as it stood then, made due the prior price it
prints, it was right then, and is wrong since the first change after that made another
one due (`esl.audit.known_prior`): imported history, a product put on sale earlier or
made perishable change the due prior price of labels that keep their image while the
controller sends them the corrected one within seconds, and dated by the image alone
every such label alerted at once. One already wrong then (drawn wrong, altered) is
wrong since then: a later change must not restart its clock.

A label on a product no longer sold is dated by its binding in the report; the ledger's
withdrawal says when its price stopped being sold. Only those few labels are read."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy.orm import Session

from esl.audit.classify import AuditClass
from esl.audit.known_prior import KnownPriorPrices
from esl.audit.label_reads import reporting_since, shown_contents
from esl.audit.report import AuditReport
from esl.db.repositories.ledger import store_price_runs
from pricing import Catalogue

__all__ = ["images_shown_since", "prices_withdrawn", "prior_prices_wrong_since"]


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


def prior_prices_wrong_since(
    session: Session, report: AuditReport, catalogue: Catalogue
) -> dict[str, datetime]:
    """Label id -> since when it has printed a wrong prior price, for each label with a
    prior-price problem whose reports of its image are kept (one whose are not is left
    out: counted at once, an unlawful shelf of unknown age being no better): its first
    report of the image it shows, or the first change since, by the report's instant,
    that made another prior price due than it prints, as the record stood then
    (`KnownPriorPrices.wrong_since`): one wrong at its first report is wrong since then,
    whatever changed since. `catalogue`: the audit's, as at the report's instant."""
    shown_since = images_shown_since(session, report)
    hashes = {v.label_id: v.shown_hash for v in report.labels if v.shown_hash is not None}
    problems = [p for p in report.prior_price_problems if p.label_id in shown_since]
    contents = shown_contents(session, {hashes[p.label_id] for p in problems})
    known = KnownPriorPrices(session, {(p.sku, p.store) for p in problems}, at=report.at)
    found: dict[str, datetime] = {}
    for problem in problems:
        since = shown_since[problem.label_id]
        row = contents.get(hashes[problem.label_id])
        # The product announced: a twin's image (recorded for another SKU) is its own.
        wrong = (
            known.wrong_since(
                replace(row[0], sku=problem.sku),
                store=problem.store,
                product=catalogue.products.get(problem.sku),
                known_store=catalogue.stores.get(problem.store),
                since=since,
            )
            if row is not None
            else None
        )
        found[problem.label_id] = since if wrong is None else wrong
    return found


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
