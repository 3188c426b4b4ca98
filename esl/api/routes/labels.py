"""Gateways and labels: register, bind to a product and template, unbind."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select

from esl.api.dependencies import (
    Admin,
    Ctx,
    CurrentSession,
    Reader,
    StoreStaff,
)
from esl.api.instants import Instant
from esl.api.pagination import Pages, paginate, where_given
from esl.api.schemas import (
    BindingIn,
    BindingOut,
    GatewayIn,
    GatewayOut,
    LabelIn,
    LabelOut,
    Page,
    RequestBody,
    RowOut,
)
from esl.db.models import GatewayRow, LabelRow, StoreRow
from esl.db.repositories.rows import row_or_not_found
from esl.errors import ConflictError, NotFoundError
from esl.services.gateway_ids import GATEWAY_ID_PATTERN
from esl.services.keys import Role
from esl.services.label_actions import REQUESTABLE, ActionKind, get_action, request_action
from esl.services.label_retirement import retire_label
from esl.services.label_vitals import RECENT, label_vitals
from esl.services.labels import (
    bind_label,
    current_binding,
    register_label,
    require_store_access,
    unbind_label,
)
from esl.services.product_codes import product_by_code
from gateways.ble.pairing_code import PairingCode

__all__ = ["router"]

router = APIRouter(tags=["labels"])  # every route here is in this section of the API docs
GatewayPath = Annotated[
    str,
    Path(
        min_length=1,
        max_length=64,
        pattern=GATEWAY_ID_PATTERN,
        description="1-64 of A-Z a-z 0-9 _ -: it is a level of the gateway's MQTT topics",
    ),
]
# A label id is the wire protocol's (gateways.protocol.LABEL_ID_PATTERN): frames name it.
IdPath = Annotated[str, Path(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_.:\-]+$")]


@router.get("/gateways", response_model=Page[GatewayOut])
def list_gateways(
    session: CurrentSession, _: Reader, page: Pages, store: str | None = None
) -> dict[str, Any]:
    """Store gateways, a page at a time; filter by store."""
    statement = where_given(select(GatewayRow).order_by(GatewayRow.id), (GatewayRow.store, store))
    return paginate(session, statement, page, GatewayOut.model_validate)


@router.put("/gateways/{gateway_id}", response_model=GatewayOut)
def put_gateway(
    gateway_id: GatewayPath, body: GatewayIn, session: CurrentSession, _: Admin
) -> GatewayRow:
    """Register a store gateway, or rename it; it cannot move while it serves labels of
    its store in service (they would hang off another store's gateway). A retired label
    is sent nothing again and can be neither moved nor un-retired: it keeps the gateway
    it had, as its history, and holds the gateway back no longer."""
    if session.get(StoreRow, body.store) is None:
        raise NotFoundError("store", body.store)
    row = session.get(GatewayRow, gateway_id) or GatewayRow(id=gateway_id)
    if row.store is not None and row.store != body.store:
        stranded = session.scalar(
            select(func.count())
            .select_from(LabelRow)
            .where(LabelRow.gateway == gateway_id, LabelRow.retired_at.is_(None))
        )
        if stranded:
            raise ConflictError(
                f"gateway {gateway_id} serves {stranded} label(s) of store {row.store}: "
                f"it moves to {body.store} once they are retired "
                "(POST /labels/{id}/retire)",
                gateway=gateway_id,
                store=row.store,
                labels=stranded,
            )
    row.store, row.transport, row.name = body.store, body.transport, body.name
    session.add(row)
    return row


def _label_out(session: Any, row: LabelRow) -> LabelOut:
    out = LabelOut.model_validate(row)
    binding = current_binding(session, row.id)
    out.binding = BindingOut.model_validate(binding) if binding is not None else None
    return out


@router.get("/labels", response_model=Page[LabelOut])
def list_labels(
    session: CurrentSession, who: Reader, page: Pages, store: str | None = None
) -> dict[str, Any]:
    """Labels, with their current binding; a store key sees its own store's labels only."""
    if who.role is Role.STORE:
        store = who.store
    statement = where_given(select(LabelRow).order_by(LabelRow.id), (LabelRow.store, store))
    return paginate(session, statement, page, lambda row: _label_out(session, row))


@router.post("/labels", response_model=LabelOut, status_code=201)
def post_label(body: LabelIn, ctx: Ctx, session: CurrentSession, who: StoreStaff) -> LabelOut:
    """Register a label in a store (and on one of that store's gateways)."""
    row = register_label(
        session,
        principal=who,
        label_id=body.id,
        store=body.store,
        model=body.model,
        gateway=body.gateway,
        now=ctx.clock(),
        pairing_code=None if body.pairing_code is None else PairingCode.parse(body.pairing_code),
    )
    return _label_out(session, row)


@router.get("/labels/{label_id}", response_model=LabelOut)
def get_label(label_id: IdPath, session: CurrentSession, who: Reader) -> LabelOut:
    """One label with its current binding."""
    row = row_or_not_found(session, LabelRow, label_id, "label")
    require_store_access(who, row.store)
    return _label_out(session, row)


@router.put("/labels/{label_id}/binding", response_model=BindingOut)
def put_binding(
    label_id: IdPath, body: BindingIn, ctx: Ctx, session: CurrentSession, who: StoreStaff
) -> Any:
    """Show a product on the label through a template (replaces any current binding)."""
    return bind_label(
        session,
        principal=who,
        label_id=label_id,
        sku=body.sku,
        template=body.template,
        now=ctx.clock(),
    )


@router.delete("/labels/{label_id}/binding", response_model=BindingOut)
def delete_binding(label_id: IdPath, ctx: Ctx, session: CurrentSession, who: StoreStaff) -> Any:
    """Unbind the label: it stops being planned until bound again."""
    return unbind_label(session, principal=who, label_id=label_id, now=ctx.clock())


@router.post("/labels/{label_id}/retire", response_model=LabelOut)
def post_retire(label_id: IdPath, ctx: Ctx, session: CurrentSession, who: StoreStaff) -> LabelOut:
    """Retire the label (broken, thrown away): its binding ends, and it is left out of the
    audit, health and keep-alive and sent nothing again; its history stays. Retired
    again: the same label. A BLE label still associated is 409 (unassociate it first)."""
    row = retire_label(session, principal=who, label_id=label_id, now=ctx.clock())
    return _label_out(session, row)


# ---------------------------------------------------------------- label actions (the console's)


class LabelActionOut(RowOut):
    """What a person asked a label to do, and what the label answered (once it did)."""

    id: int
    label_id: str
    action: Literal["flash", "ping", "refresh", "set_clock", "unassociate"] = Field(
        description="What was asked; `unassociate`: a BLE label released "
        "(DELETE /stores/{store}/ble/inventory/{label_id}): its identification screen, "
        "then a signed Unassociate; answered once the label confirmed and the controller "
        "forgot its key, unanswered (still associated) when it did not"
    )
    status: Literal["requested", "sent", "answered", "unanswered", "failed"] = Field(
        description="requested -> sent -> answered; unanswered: no answer in time; "
        "failed: could not be sent (detail says why)"
    )
    requested_by: str
    via_gateway: str | None = Field(
        default=None,
        description="The store gateway it goes through when not the label's own: the "
        "controller's probe of a label heard via another gateway of its store only older "
        "than the claim held (docs/pipeline.md); null: the label's own",
    )
    requested_at: datetime
    sent_at: datetime | None
    answered_at: datetime | None
    reason: str | None = Field(description="The label's reason code, e.g. SUCCESS")
    led_on: bool | None
    battery_mv: int | None
    rssi_dbm: int | None
    detail: str | None


class CodeBindingIn(RequestBody):
    """Bind by SKU or by the EAN a barcode scanner reads off the product."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"code": "5900820000011", "template": "standard"}]},
    )
    code: str = Field(min_length=1, max_length=64, description="A SKU, or an EAN/GTIN")
    template: str = Field(default="standard", min_length=1, max_length=64)


ActionId = Annotated[int, Path(ge=1, le=2**62)]


def _post_action(kind: ActionKind) -> Any:
    def post(label_id: IdPath, ctx: Ctx, session: CurrentSession, who: StoreStaff) -> Any:
        return request_action(session, principal=who, label_id=label_id, kind=kind, now=ctx.clock())

    post.__doc__ = {
        ActionKind.FLASH: "Flash the label's LED so staff find it on the shelf (30 s).",
        ActionKind.PING: "Ask the label to answer: alive, battery, signal.",
        ActionKind.REFRESH: "Send the label its image again, then have its panel drawn again.",
        ActionKind.SET_CLOCK: "Set the label's clock (its timed price changes follow it) to "
        "the controller's; the controller does so itself when a check-in's clock is off.",
    }[kind] + " Poll the action for the label's answer."
    post.__name__ = f"post_{kind.value}"
    return post


for _kind in REQUESTABLE:
    router.post(
        f"/labels/{{label_id}}/{_kind.value}",
        response_model=LabelActionOut,
        status_code=202,
    )(_post_action(_kind))


@router.get("/labels/{label_id}/actions/{action_id}", response_model=LabelActionOut)
def get_label_action(
    label_id: IdPath, action_id: ActionId, session: CurrentSession, who: Reader
) -> Any:
    """One action and the label's answer."""
    row = get_action(session, principal=who, action_id=action_id)
    if row.label_id != label_id:
        raise NotFoundError("label action", action_id)
    return row


@router.post("/labels/{label_id}/bind", response_model=BindingOut)
def post_bind(
    label_id: IdPath, body: CodeBindingIn, ctx: Ctx, session: CurrentSession, who: StoreStaff
) -> Any:
    """Bind (or re-bind) the label to the product with this SKU or scanned EAN."""
    product = product_by_code(session, body.code)
    by_sku = BindingIn(sku=product.sku, template=body.template)
    return put_binding(label_id, by_sku, ctx, session, who)


@router.post("/labels/{label_id}/unbind", response_model=BindingOut)
def post_unbind(label_id: IdPath, ctx: Ctx, session: CurrentSession, who: StoreStaff) -> Any:
    """Unbind the label: it shows its identification screen until bound again."""
    return unbind_label(session, principal=who, label_id=label_id, now=ctx.clock())


# ---------------------------------------------------------------- battery and signal over time


class VitalSampleOut(RowOut):
    at: datetime = Field(description="When the controller heard the report")
    battery_mv: int
    rssi_dbm: int
    lqi: int | None = Field(description="Link quality 0..255, where the transport reports one")


class LabelVitalsOut(BaseModel):
    label_id: str
    since: datetime
    low_battery_mv: int = Field(description="A battery under this is low (the setting)")
    samples: list[VitalSampleOut] = Field(description="Oldest first; the newest page-limit many")


@router.get("/labels/{label_id}/vitals", response_model=LabelVitalsOut)
def get_label_vitals(
    label_id: IdPath,
    ctx: Ctx,
    session: CurrentSession,
    who: Reader,
    since: Annotated[
        Instant | None, Query(description="Samples from this instant (default: 30 days ago).")
    ] = None,
) -> Any:
    """The label's battery and signal over time: at most one sample per
    ESL_LABEL_VITALS_EVERY_S, kept ESL_LABEL_VITALS_KEEP_DAYS."""
    start = since or ctx.clock() - RECENT
    samples = label_vitals(
        session,
        principal=who,
        label_id=label_id,
        since=start,
        limit=ctx.settings.api_page_limit,
    )
    return LabelVitalsOut(
        label_id=label_id,
        since=start,
        low_battery_mv=ctx.settings.label_low_battery_mv,
        samples=[VitalSampleOut.model_validate(sample) for sample in samples],
    )
