"""Gateways and labels: register, bind to a product and template, unbind."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from sqlalchemy import func, select

from esl.api.dependencies import (
    Admin,
    Ctx,
    CurrentSession,
    Reader,
    StoreStaff,
)
from esl.api.pagination import Pages, paginate
from esl.api.schemas import (
    BindingIn,
    BindingOut,
    GatewayIn,
    GatewayOut,
    LabelIn,
    LabelOut,
    Page,
)
from esl.db.models import GatewayRow, LabelRow, StoreRow
from esl.errors import ConflictError, NotFoundError
from esl.services.keys import Role
from esl.services.labels import (
    bind_label,
    current_binding,
    register_label,
    require_store_access,
    unbind_label,
)

__all__ = ["router"]

router = APIRouter()
IdPath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:\-]+$")]


@router.get("/gateways", response_model=Page[GatewayOut], tags=["labels"])
def list_gateways(
    session: CurrentSession, _: Reader, page: Pages, store: str | None = None
) -> dict[str, Any]:
    """Store gateways, a page at a time; filter by store."""
    statement = select(GatewayRow).order_by(GatewayRow.id)
    if store is not None:
        statement = statement.where(GatewayRow.store == store)
    return paginate(session, statement, page, GatewayOut.model_validate)


@router.put("/gateways/{gateway_id}", response_model=GatewayOut, tags=["labels"])
def put_gateway(
    gateway_id: IdPath, body: GatewayIn, session: CurrentSession, _: Admin
) -> GatewayRow:
    """Register a store gateway, or rename it; it cannot move while it serves labels of
    its store (they would hang off another store's gateway)."""
    if session.get(StoreRow, body.store) is None:
        raise NotFoundError("store", body.store)
    row = session.get(GatewayRow, gateway_id) or GatewayRow(id=gateway_id)
    if row.store is not None and row.store != body.store:
        stranded = session.scalar(
            select(func.count()).select_from(LabelRow).where(LabelRow.gateway == gateway_id)
        )
        if stranded:
            raise ConflictError(
                f"gateway {gateway_id} serves {stranded} label(s) of store {row.store}: "
                f"move or remove them before it moves to {body.store}",
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


@router.get("/labels", response_model=Page[LabelOut], tags=["labels"])
def list_labels(
    session: CurrentSession, who: Reader, page: Pages, store: str | None = None
) -> dict[str, Any]:
    """Labels, with their current binding; a store key sees its own store's labels only."""
    if who.role is Role.STORE:
        store = who.store
    statement = select(LabelRow).order_by(LabelRow.id)
    if store is not None:
        statement = statement.where(LabelRow.store == store)
    return paginate(session, statement, page, lambda row: _label_out(session, row))


@router.post("/labels", response_model=LabelOut, status_code=201, tags=["labels"])
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
    )
    return _label_out(session, row)


@router.get("/labels/{label_id}", response_model=LabelOut, tags=["labels"])
def get_label(label_id: IdPath, session: CurrentSession, who: Reader) -> LabelOut:
    """One label with its current binding."""
    row = session.get(LabelRow, label_id)
    if row is None:
        raise NotFoundError("label", label_id)
    require_store_access(who, row.store)
    return _label_out(session, row)


@router.put("/labels/{label_id}/binding", response_model=BindingOut, tags=["labels"])
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


@router.delete("/labels/{label_id}/binding", response_model=BindingOut, tags=["labels"])
def delete_binding(label_id: IdPath, ctx: Ctx, session: CurrentSession, who: StoreStaff) -> Any:
    """Unbind the label: it stops being planned until bound again."""
    return unbind_label(session, principal=who, label_id=label_id, now=ctx.clock())
