"""The audit of a store or the chain: summaries, labels by class, the report with its
side-by-side previews, and CSV/JSON downloads (auditors and admins, as in the API)."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from esl.api.dependencies import ApiContext, Ctx
from esl.audit.classify import AuditClass
from esl.audit.formats import report_to_csv, report_to_dict
from esl.audit.gather import GatheredAudit, gather_configured_audit
from esl.audit.html_report import PRIOR_BASIS_NAMES, render_html_report
from esl.ui.access import User, require
from esl.ui.page_rendering import page
from esl.ui.shelf_views import visible_stores

__all__ = ["router"]

router = APIRouter()
StoreQuery = Annotated[str | None, Query(max_length=64)]


def _gather(ctx: ApiContext, store: str | None) -> GatheredAudit:
    now = ctx.clock()
    with ctx.sessions() as session:
        return gather_configured_audit(
            session, ctx.settings, at=now, now=now, stores=[store] if store else None
        )


@router.get("/audit", response_class=HTMLResponse)
def audit(
    request: Request,
    ctx: Ctx,
    user: User,
    store: StoreQuery = None,
    class_name: Annotated[str, Query(alias="class", max_length=32)] = "",
) -> HTMLResponse:
    require(user.principal, "audit")
    # The form sends an empty class for "every class".
    known = {c.value: c for c in AuditClass}
    if class_name and class_name not in known:
        return page(
            request,
            "refused.html",
            user=user,
            message=f"no audit class {class_name!r}: one of {', '.join(known)}",
            status_code=422,
        )
    audit_class = known.get(class_name)
    report = _gather(ctx, store).report
    labels = [v for v in report.labels if audit_class is None or v.audit_class is audit_class]
    with ctx.sessions() as session:
        stores = visible_stores(session, None)
    return page(
        request,
        "audit.html",
        user=user,
        report=report,
        labels=labels[:500],
        total=len(labels),
        prior_bases=PRIOR_BASIS_NAMES,
        store=store or "",
        audit_class=audit_class.value if audit_class else "",
        classes=[c.value for c in AuditClass],
        stores=stores,
        currency=ctx.settings.currency,  # the chain's: its decimals print the amounts
    )


@router.get("/audit/report.html", response_class=HTMLResponse)
def audit_report(ctx: Ctx, user: User, store: StoreQuery = None) -> HTMLResponse:
    require(user.principal, "audit")
    return HTMLResponse(render_html_report(_gather(ctx, store), locale=ctx.settings.locale))


@router.get("/audit.csv")
def audit_csv(ctx: Ctx, user: User, store: StoreQuery = None) -> Response:
    require(user.principal, "audit")
    return Response(
        report_to_csv(_gather(ctx, store).report),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="audit.csv"'},
    )


@router.get("/audit.json")
def audit_json(ctx: Ctx, user: User, store: StoreQuery = None) -> Response:
    require(user.principal, "audit")
    return Response(
        json.dumps(report_to_dict(_gather(ctx, store).report), indent=2),
        media_type="application/json",
        headers={"Content-Disposition": 'attachment; filename="audit.json"'},
    )
