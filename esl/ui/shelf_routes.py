"""The chain overview, a store's labels, one label's page and its actions."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from esl.api.dependencies import ApiContext, Ctx
from esl.db.models import LabelRow, LabelStateRow, ProductRow
from esl.db.repositories.rows import row_or_not_found
from esl.services.health import label_condition
from esl.services.label_actions import ActionKind, get_action, recent_actions, request_action
from esl.services.label_status import StatusThresholds
from esl.services.label_vitals import RECENT, VitalSample, label_vitals, summarise_vitals
from esl.services.labels import bind_label, current_binding, unbind_label
from esl.services.product_codes import product_by_code
from esl.services.quotes import shelf_quote
from esl.ui.access import Changing, User, require, require_store
from esl.ui.console_sessions import SignedIn
from esl.ui.console_values import FormText, RowId
from esl.ui.page_rendering import page
from esl.ui.publication_reach import publication_reach
from esl.ui.shelf_views import (
    STATE_FILTERS,
    label_history,
    label_image_png,
    label_panel,
    overview,
    store_labels,
    visible_stores,
)
from esl.ui.vitals_chart import battery_sentence, line_chart, signal_sentence
from pricing.errors import EslError

__all__ = ["router"]

router = APIRouter()
LabelId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:\-]+$")]
Store = Annotated[str, Path(min_length=1, max_length=64)]


def _thresholds(ctx: ApiContext) -> StatusThresholds:
    return StatusThresholds.from_settings(ctx.settings)


@router.get("/", response_class=HTMLResponse)
def chain_overview(request: Request, ctx: Ctx, user: User) -> HTMLResponse:
    with ctx.sessions() as session:
        stores = visible_stores(session, user.principal.store)
        health = overview(session, now=ctx.clock(), stores=stores, thresholds=_thresholds(ctx))
        reach = [
            r
            for r in publication_reach(
                session, now=ctx.clock(), limit=5, store=user.principal.store
            )
            if r.status == "published"
        ]
    return page(request, "overview.html", user=user, health=health, reach=reach)


@router.get("/stores/{store}", response_class=HTMLResponse)
def store_view(
    request: Request,
    ctx: Ctx,
    user: User,
    store: Store,
    state: Annotated[str | None, Query(max_length=32)] = None,
    q: Annotated[str | None, Query(max_length=128)] = None,
) -> HTMLResponse:
    require_store(user.principal, store)
    with ctx.sessions() as session:
        labels = store_labels(
            session,
            store=store,
            now=ctx.clock(),
            thresholds=_thresholds(ctx),
            state=state or None,
            search=q or None,
        )
    return page(
        request,
        "store.html",
        user=user,
        filters=STATE_FILTERS,
        store=store,
        labels=labels,
        state=state or "",
        q=q or "",
    )


def _label_or_404(session: Session, label_id: str) -> LabelRow:
    return row_or_not_found(session, LabelRow, label_id, "label")


@router.get("/labels/{label_id}", response_class=HTMLResponse)
def label_page(request: Request, ctx: Ctx, user: User, label_id: LabelId) -> HTMLResponse:
    return page(request, "label.html", user=user, **_label_values(ctx, user, label_id))


def _label_values(ctx: ApiContext, user: SignedIn, label_id: str) -> dict[str, Any]:
    now = ctx.clock()
    with ctx.sessions() as session:
        label = _label_or_404(session, label_id)
        require_store(user.principal, label.store)
        binding = current_binding(session, label_id)
        product = session.get(ProductRow, binding.sku) if binding else None
        price = None
        if binding is not None:
            try:
                price = shelf_quote(
                    session, sku=binding.sku, store=label.store, now=now, settings=ctx.settings
                )
            except EslError:
                price = None
        state = session.get(LabelStateRow, label_id)
        condition = label_condition(session, label_id, now=now, thresholds=_thresholds(ctx))
        panel = label_panel(session, state, now=now)
        history = label_history(session, label_id)
        actions = recent_actions(session, label_id)
        samples = label_vitals(
            session, principal=user.principal, label_id=label_id, since=now - RECENT, limit=500
        )
    return {
        "label": label,
        "binding": binding,
        "product": product,
        "price": price,
        "state": state,
        "panel": panel,
        "now": now,
        "condition": condition,
        "history": history,
        "actions": actions,
        # Bound or unbound since the controller last planned it: what the record says it
        # shows is about the old product until the new image is planned (a second or so).
        "replanning": state is not None
        and state.binding_id != (binding.id if binding is not None else None),
        **_vitals_values(ctx, samples),
    }


def _vitals_values(ctx: ApiContext, samples: list[VitalSample]) -> dict[str, Any]:
    """Battery and signal over time: two charts and what they show in words."""
    low = ctx.settings.label_low_battery_mv
    zone = ctx.settings.installation_time_zone or "UTC"
    summary = summarise_vitals(samples, low_battery_mv=low)
    if summary is None:
        return {"vitals": None, "vitals_every_min": round(ctx.settings.label_vitals_every_s / 60)}
    return {
        "vitals": summary,
        "battery_text": battery_sentence(
            summary, low_battery_mv=low, samples=len(samples), zone=zone
        ),
        "signal_text": signal_sentence(summary),
        "battery_chart": line_chart(
            [(s.at, s.battery_mv) for s in samples],
            unit="mV",
            step=100,
            threshold=low,
            threshold_text=f"low: {low} mV",
            zone=zone,
        ),
        "signal_chart": line_chart(
            [(s.at, s.rssi_dbm) for s in samples], unit="dBm", step=10, zone=zone
        ),
    }


@router.get("/labels/{label_id}/{which}.png")
def label_image(
    ctx: Ctx,
    user: User,
    label_id: LabelId,
    which: Annotated[str, Path(pattern="^(shown|due)$")],
    h: Annotated[str | None, Query(max_length=32, pattern="^[0-9a-f]*$")] = None,
) -> Response:
    """The image named `h` (as the page drew it), when it is one this label's record
    names: reported, confirmed, held for a flip or due. Without `h`, what its panel shows
    or what is due now, never cached."""
    with ctx.sessions() as session:
        label = _label_or_404(session, label_id)
        require_store(user.principal, label.store)
        state = session.get(LabelStateRow, label_id)
        if state is None:
            return Response(status_code=404)
        if h:
            # Not any image by hash: only this label's, which its reader may see.
            mine = {
                state.displayed_hash,
                state.confirmed_hash,
                state.held_hash,
                state.desired_hash,
            }
            digest = h if h in mine else None
        elif which == "due":
            digest = state.desired_hash
        else:
            digest = label_panel(session, state, now=ctx.clock()).shown
        png = label_image_png(session, digest, model_id=label.model)
    if png is None:
        return Response(status_code=404, headers={"Cache-Control": "no-store"})
    # One URL, one image: the page names the content hash in it, and `h` is served.
    cache = "private, max-age=3600" if h else "no-store"
    return Response(png, media_type="image/png", headers={"Cache-Control": cache})


@router.post("/labels/{label_id}/actions/{kind}", response_class=HTMLResponse)
def label_action(
    request: Request,
    ctx: Ctx,
    user: Changing,
    label_id: LabelId,
    kind: ActionKind,
) -> HTMLResponse:
    require(user.principal, "act_on_labels")
    try:
        with ctx.sessions() as session, session.begin():
            action = request_action(
                session, principal=user.principal, label_id=label_id, kind=kind, now=ctx.clock()
            )
            session.expunge(action)
    except EslError as error:
        return page(request, "_action.html", user=user, action=None, error=error.message)
    return page(request, "_action.html", user=user, action=action, label_id=label_id)


@router.get("/labels/{label_id}/actions/{action_id}", response_class=HTMLResponse)
def label_action_result(
    request: Request, ctx: Ctx, user: User, label_id: LabelId, action_id: RowId
) -> HTMLResponse:
    with ctx.sessions() as session:
        action = get_action(session, principal=user.principal, action_id=action_id)
        session.expunge(action)
    return page(request, "_action.html", user=user, action=action, label_id=label_id)


@router.post("/labels/{label_id}/bind", response_model=None)
def bind(
    request: Request,
    ctx: Ctx,
    user: Changing,
    label_id: LabelId,
    code: Annotated[FormText, Form(max_length=64)] = "",
    template: Annotated[FormText, Form(max_length=64)] = "standard",
) -> Response:
    require(user.principal, "act_on_labels")
    try:
        with ctx.sessions() as session, session.begin():
            product = product_by_code(session, code)
            bind_label(
                session,
                principal=user.principal,
                label_id=label_id,
                sku=product.sku,
                template=template,
                now=ctx.clock(),
            )
    except EslError as error:
        return _label_with_error(request, ctx, user, label_id, error.message)
    return RedirectResponse(f"/ui/labels/{label_id}?bound={code}", status_code=303)


@router.post("/labels/{label_id}/unbind", response_model=None)
def unbind(request: Request, ctx: Ctx, user: Changing, label_id: LabelId) -> Response:
    require(user.principal, "act_on_labels")
    try:
        with ctx.sessions() as session, session.begin():
            unbind_label(session, principal=user.principal, label_id=label_id, now=ctx.clock())
    except EslError as error:
        return _label_with_error(request, ctx, user, label_id, error.message)
    return RedirectResponse(f"/ui/labels/{label_id}", status_code=303)


def _label_with_error(
    request: Request, ctx: ApiContext, user: SignedIn, label_id: str, message: str
) -> Response:
    values = _label_values(ctx, user, label_id)
    return page(request, "label.html", user=user, error=message, status_code=422, **values)
