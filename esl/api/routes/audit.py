"""`GET /api/v1/audit?store=&at=`: shelf against store price against web price, per label.

Auditors (and admins) only: the report names every label's content and state. Labels are
paginated; the per-store summary and the prior-price problems come whole on every page.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from esl.api.dependencies import Auditor, Ctx, CurrentSession
from esl.api.errors import require_aware_query
from esl.api.instants import Instant
from esl.api.pagination import Pages
from esl.audit.classify import AuditClass
from esl.audit.formats import label_to_dict, problem_to_dict, store_to_dict
from esl.audit.gather import gather_configured_audit
from pricing import PriorPriceBasis

__all__ = ["AuditLabelOut", "AuditPageOut", "AuditStoreOut", "router"]

router = APIRouter()


class AuditStoreOut(BaseModel):
    store: str
    labels: int
    mismatches: int
    counts: dict[str, int]
    unlabelled_products: list[str]
    labels_on_unsold_products: list[str]
    prior_price_problems: int


class AuditLabelOut(BaseModel):
    store: str
    label_id: str
    sku: str
    # `class` is a keyword in Python; the JSON field keeps the report's name.
    audit_class: AuditClass = Field(alias="class")
    reason: str
    since: datetime | None
    age_s: float | None
    shows_due: bool
    wrong_since: datetime | None
    shown_price: str | None
    due_price: str | None
    web_price: str | None
    rule: str | None
    attempts: int | None
    last_reason: str | None
    last_seen: datetime | None
    battery_mv: int | None
    shown_hash: str | None


class PriorPriceProblemOut(BaseModel):
    label_id: str
    store: str
    sku: str
    shown_price: str
    shown_prior: str | None
    expected_prior: str | None
    # The rule each prior price is captioned by (`lowest_30_days`, `lowest_since_on_sale`,
    # `before_first_reduction`): the right amount under another caption is a problem too.
    shown_basis: PriorPriceBasis | None
    expected_basis: PriorPriceBasis | None


class AuditPageOut(BaseModel):
    at: datetime
    stores: list[AuditStoreOut]
    prior_price_problems: list[PriorPriceProblemOut]
    items: list[AuditLabelOut]
    total: int
    limit: int
    offset: int
    next_offset: int | None


@router.get("/audit", response_model=AuditPageOut, tags=["audit"])
def get_audit(
    session: CurrentSession,
    ctx: Ctx,
    _: Auditor,
    page: Pages,
    store: Annotated[list[str] | None, Query(description="Store code; repeatable.")] = None,
    at: Annotated[
        Instant | None,
        Query(description="A past instant (with offset); one later than now is refused (422)."),
    ] = None,
    audit_class: Annotated[
        AuditClass | None, Query(alias="class", description="Only labels of this class.")
    ] = None,
    mismatches_only: Annotated[
        bool, Query(description="Leave out match and intended_difference.")
    ] = False,
) -> dict[str, Any]:
    """Every bound label's class and facts at `at` (default: now), with store summaries.

    Each call audits afresh: without `at`, every page is a new live audit (docs/audit.md
    says how to read one report whole)."""
    now = ctx.clock()
    instant = require_aware_query(at) if at is not None else now
    gathered = gather_configured_audit(session, ctx.settings, at=instant, now=now, stores=store)
    report = gathered.report
    verdicts = [
        v
        for v in report.labels
        if (audit_class is None or v.audit_class is audit_class)
        and (not mismatches_only or v.audit_class.is_mismatch)
    ]
    chosen = verdicts[page.offset : page.offset + page.limit]
    end = page.offset + len(chosen)
    return {
        "at": report.at,
        "stores": [store_to_dict(s) for s in report.stores],
        "prior_price_problems": [problem_to_dict(p) for p in report.prior_price_problems],
        "items": [label_to_dict(v, at=report.at) for v in chosen],
        "total": len(verdicts),
        "limit": page.limit,
        "offset": page.offset,
        "next_offset": end if end < len(verdicts) else None,
    }
