"""What `esl audit --fail-after` needs beyond the report (docs/audit.md, Outputs): since
when each label with a prior-price problem has printed the wrong prior price, and when
the store price of a product no longer sold ended, for its labels still showing a price.

A label at the due price with a wrong prior price has no `wrong_since` (its price is
right), so the report alone cannot age it. It shows the wrong line since its first
report of the image it shows (its kept reports date it, as they date a tampered label's
image), at the latest; and if the record changed what its due prior price is computed
from after that, since that change at the earliest, taken to have been right before it.
Imported history, a product put on sale earlier or made perishable change the due prior
price of labels that keep their image while the controller sends them the corrected one
within seconds: dated by the image alone, every such label alerted at once.

A label on a product no longer sold is dated by its binding in the report; the ledger's
withdrawal says when its price stopped being sold. Only those few labels are read."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from esl.audit.classify import AuditClass
from esl.audit.label_reads import reporting_since
from esl.audit.report import AuditReport
from esl.db.models import ProductVersionRow, core_table
from esl.db.repositories import in_chunks
from esl.db.repositories.ledger import store_ledger_known, store_price_runs

__all__ = ["images_shown_since", "prices_withdrawn", "prior_prices_wrong_since"]

_products = core_table(ProductVersionRow)
# A product's facts the due prior price reads (`pricing.ledger.due_prior_price`): when it
# went on sale, whether it is perishable, since when its SKU's ledger is its own.
_PRIOR_PRICE_FACTS = ("on_sale_since", "perishable", "ledger_since")


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


def prior_prices_wrong_since(session: Session, report: AuditReport) -> dict[str, datetime]:
    """Label id -> since when it has printed a wrong prior price, for each label with a
    prior-price problem whose reports of its image are kept (one whose are not is left
    out: counted at once, an unlawful shelf of unknown age being no better): the first
    change, after its first report of the image it shows and by the report's instant,
    of what its due prior price is computed from (`_prior_price_inputs_changed`), or
    else that first report. Not the last change: a label made wrong by the first and
    left so is wrong since the first."""
    shown_since = images_shown_since(session, report)
    shelves = {
        p.label_id: (p.sku, p.store)
        for p in report.prior_price_problems
        if p.label_id in shown_since
    }
    changes = _prior_price_inputs_changed(session, shelves, at=report.at, after=shown_since)
    return {
        label_id: min(
            (t for t in changes.get(shelf, ()) if shown_since[label_id] < t),
            default=shown_since[label_id],
        )
        for label_id, shelf in shelves.items()
    }


def _prior_price_inputs_changed(
    session: Session,
    shelves: Mapping[str, tuple[str, str]],
    *,
    at: datetime,
    after: Mapping[str, datetime],
) -> dict[tuple[str, str], list[datetime]]:
    """(SKU, store) -> the instants by `at` at which the record changed what the due
    prior price of that shelf is computed from, for the shelves of `shelves` (label id ->
    the shelf its prior price is due for), from the earliest of `after` (label id -> an
    instant) on, in two queries a chunk:
    - an entry of the shelf's ledger took effect as far as the record knew
      (`store_ledger_known`: imported history from when it was imported);
    - a version of its product gave another on-sale date, perishability or start of its
      own ledger (`product_versions`: imported history puts a product on sale earlier).
    A store's opening keeps no versions (`stores.opened`): a label made wrong by its
    opening moved is dated by its image (docs/audit.md)."""
    if not shelves:
        return {}
    floor = min(after.values())
    ledger = store_ledger_known(session, set(shelves.values()), after=floor, at=at)
    products = _fact_changes(session, {sku for sku, _ in shelves.values()}, at=at)
    return {
        shelf: [*ledger.get(shelf, ()), *products.get(shelf[0], ())]
        for shelf in set(shelves.values())
    }


def _fact_changes(
    session: Session, skus: Collection[str], *, at: datetime
) -> dict[str, list[datetime]]:
    """SKU -> the starts, by `at`, of its product's versions that changed a fact its
    prior price reads from the version before. Not its first version: a product is as
    far as anyone knows as its first version says before it too (a product stored
    before versions were kept got its first when it was next written)."""
    found: dict[str, list[datetime]] = defaultdict(list)
    facts = [_products.c[name] for name in _PRIOR_PRICE_FACTS]
    for chunk in in_chunks(sorted(skus)):
        rows = session.execute(
            select(_products.c.sku, _products.c.valid_from, *facts)
            .where(_products.c.sku.in_(chunk), _products.c.valid_from <= at)
            .order_by(_products.c.sku, _products.c.valid_from)
        )
        before: dict[str, tuple[object, ...]] = {}
        for sku, valid_from, *values in rows:
            if sku in before and before[sku] != tuple(values):
                found[sku].append(valid_from)
            before[sku] = tuple(values)
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
