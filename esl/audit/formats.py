"""The audit as JSON-ready values and as CSV: one row per label, every fact as a column."""

from __future__ import annotations

import csv
import io
from dataclasses import asdict
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from esl.audit.classify import LabelVerdict, PriorPriceProblem
from esl.audit.report import AuditReport, StoreSummary
from pricing import PriorPriceBasis

__all__ = [
    "CSV_COLUMNS",
    "label_to_dict",
    "problem_to_dict",
    "report_to_csv",
    "report_to_dict",
    "store_to_dict",
]

CSV_COLUMNS = (
    "store",
    "label_id",
    "sku",
    "class",
    "reason",
    "since",
    "age_s",
    "shows_due",
    "wrong_since",
    "shown_price",
    "due_price",
    "web_price",
    "rule",
    "attempts",
    "last_reason",
    "last_seen",
    "battery_mv",
    "shown_hash",
    # Filled for a label whose announced reduction shows another prior price (or caption)
    # than the ledger gives: the same facts as the JSON's `prior_price_problems`.
    "prior_price_shown",
    "prior_price_due",
    "prior_price_basis_shown",
    "prior_price_basis_due",
)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, timedelta):
        return value.total_seconds()
    return value


def label_to_dict(verdict: LabelVerdict, *, at: datetime) -> dict[str, Any]:
    age = verdict.age(at)
    return {
        "store": verdict.store,
        "label_id": verdict.label_id,
        "sku": verdict.sku,
        "class": verdict.audit_class.value,
        "reason": verdict.reason,
        "since": _plain(verdict.since),
        "age_s": age.total_seconds() if age is not None else None,
        "shows_due": verdict.shows_due,
        "wrong_since": _plain(verdict.wrong_since),
        "shown_price": _plain(verdict.shown_price),
        "due_price": _plain(verdict.due_price),
        "web_price": _plain(verdict.web_price),
        "rule": verdict.rule,
        "attempts": verdict.attempts,
        "last_reason": verdict.last_reason,
        "last_seen": _plain(verdict.last_seen),
        "battery_mv": verdict.battery_mv,
        "shown_hash": verdict.shown_hash,
    }


def store_to_dict(summary: StoreSummary) -> dict[str, Any]:
    return {
        "store": summary.store,
        "labels": summary.labels,
        "mismatches": summary.mismatches,
        "counts": dict(summary.counts),
        "unlabelled_products": list(summary.unlabelled_products),
        "labels_on_unsold_products": list(summary.labels_on_unsold_products),
        "prior_price_problems": summary.prior_price_problems,
    }


def problem_to_dict(problem: PriorPriceProblem) -> dict[str, Any]:
    return {name: _plain(value) for name, value in asdict(problem).items()}


def report_to_dict(report: AuditReport) -> dict[str, Any]:
    return {
        "at": report.at.isoformat(),
        "thresholds": {
            "offline_after_s": report.thresholds.offline_after.total_seconds(),
            "low_battery_mv": report.thresholds.low_battery_mv,
        },
        "stores": [store_to_dict(s) for s in report.stores],
        "labels": [label_to_dict(v, at=report.at) for v in report.labels],
        "prior_price_problems": [problem_to_dict(p) for p in report.prior_price_problems],
    }


def _problem_columns(problem: PriorPriceProblem | None) -> dict[str, Any]:
    if problem is None:
        return {}
    return {
        "prior_price_shown": _plain(problem.shown_prior),
        "prior_price_due": _plain(problem.expected_prior),
        "prior_price_basis_shown": _basis(problem.shown_basis),
        "prior_price_basis_due": _basis(problem.expected_basis),
    }


def _basis(basis: PriorPriceBasis | None) -> str | None:
    return None if basis is None else basis.value


def report_to_csv(report: AuditReport) -> str:
    """One row per label; a label with a prior-price problem carries it in the last
    columns (a spreadsheet filters on them), so the CSV misses nothing the JSON says."""
    problems = {(p.store, p.label_id): p for p in report.prior_price_problems}
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for verdict in report.labels:
        row = label_to_dict(verdict, at=report.at)
        row |= _problem_columns(problems.get((verdict.store, verdict.label_id)))
        writer.writerow({k: "" if row.get(k) is None else row[k] for k in CSV_COLUMNS})
    return buffer.getvalue()
