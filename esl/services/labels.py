"""Registering labels and binding them to a product and a template, within one store."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from esl.db.models import (
    GatewayRow,
    LabelBindingRow,
    LabelRow,
    ProductRow,
    StoreRow,
)
from esl.db.repositories.rows import row_or_not_found
from esl.errors import AccessDeniedError, ConflictError, InvalidItemError, NotFoundError
from esl.services.keys import Principal, Role
from esl.services.label_models import drawn_label_model
from esl.services.templates import require_template
from gateways.ble.pairing_code import PairingCode, bare_address
from gateways.protocol import check_label_id, generate_label_key

__all__ = [
    "bind_label",
    "current_binding",
    "refuse_retired",
    "register_label",
    "require_store_access",
    "unbind_label",
]


def require_store_access(principal: Principal, store: str) -> None:
    """Store keys act in their own store only; other roles are checked by the route."""
    if principal.role is Role.STORE and principal.store != store:
        raise AccessDeniedError(
            f"a store key of {principal.store} cannot act in store {store}",
            role=principal.role.value,
            store=store,
        )


def register_label(
    session: Session,
    *,
    principal: Principal,
    label_id: str,
    store: str,
    model: str,
    gateway: str | None,
    now: datetime,
    pairing_code: PairingCode | None = None,
) -> LabelRow:
    require_store_access(principal, store)
    try:
        check_label_id(label_id)  # every frame names its label: one no frame carries is blank
    except ValueError as error:
        raise InvalidItemError(str(error), field="id", label_id=label_id) from None
    if session.get(StoreRow, store) is None:
        raise NotFoundError("store", store)
    drawn_label_model(session, model)  # a model nothing draws would leave the label blank
    if gateway is not None:
        gateway_row = row_or_not_found(session, GatewayRow, gateway, "gateway")
        if gateway_row.store != store:
            raise ConflictError(
                f"gateway {gateway} serves store {gateway_row.store}, not {store}", field="gateway"
            )
    existing = session.get(LabelRow, label_id)
    if existing is not None and existing.retired_at is not None:
        raise ConflictError(
            f"label {label_id} is registered and was retired: a retired label stays retired",
            field="id",
        )
    if existing is not None:
        raise ConflictError(f"label {label_id} is already registered", field="id")
    pairing_address = None if pairing_code is None else bare_address(pairing_code.address)
    if pairing_code is not None:
        holder = session.execute(
            select(LabelRow.id, LabelRow.pairing_code).where(
                LabelRow.pairing_address == pairing_address
            )
        ).first()
        if holder is not None and holder.pairing_code == str(pairing_code):
            raise ConflictError(
                f"that pairing code is label {holder.id}'s (the same label scanned twice?)",
                field="pairing_code",
            )
        if holder is not None:
            raise ConflictError(
                f"label {holder.id}'s pairing code names the same address "
                f"({pairing_code.address}): one of the two is not the code printed on its label",
                field="pairing_code",
            )
    row = LabelRow(
        id=label_id,
        store=store,
        model=model,
        gateway=gateway,
        secret_key=generate_label_key(),  # the protocol's own size and source
        registered_at=now,
        pairing_code=None if pairing_code is None else str(pairing_code),
        pairing_address=pairing_address,
    )
    session.add(row)
    session.flush()
    return row


def refuse_retired(label: LabelRow) -> None:
    """A retired label (broken, thrown away) is sent nothing and bound to nothing: its
    retirement is for good (docs/api.md); a label found working again is registered
    under a new id."""
    if label.retired_at is not None:
        raise ConflictError(
            f"label {label.id} was retired at {label.retired_at.isoformat()} "
            f"by {label.retired_by}: it is not bound nor sent anything any more",
            label_id=label.id,
        )


def _label_in_reach(session: Session, principal: Principal, label_id: str) -> LabelRow:
    label = row_or_not_found(session, LabelRow, label_id, "label")
    require_store_access(principal, label.store)
    return label


def current_binding(session: Session, label_id: str) -> LabelBindingRow | None:
    return session.scalar(
        select(LabelBindingRow).where(
            LabelBindingRow.label_id == label_id, LabelBindingRow.unbound_at.is_(None)
        )
    )


def bind_label(
    session: Session,
    *,
    principal: Principal,
    label_id: str,
    sku: str,
    template: str,
    now: datetime,
) -> LabelBindingRow:
    """Show `sku` on the label; a label already bound is re-bound (the old binding closes)."""
    refuse_retired(_label_in_reach(session, principal, label_id))
    if session.get(ProductRow, sku) is None:
        raise NotFoundError("product", sku)
    require_template(session, template)
    existing = current_binding(session, label_id)
    if existing is not None:
        if existing.sku == sku and existing.template == template:
            return existing
        existing.unbound_at = now
        session.flush()
    binding = LabelBindingRow(
        label_id=label_id, sku=sku, template=template, bound_at=now, bound_by=principal.name
    )
    session.add(binding)
    session.flush()
    return binding


def unbind_label(
    session: Session, *, principal: Principal, label_id: str, now: datetime
) -> LabelBindingRow:
    _label_in_reach(session, principal, label_id)
    existing = current_binding(session, label_id)
    if existing is None:
        raise ConflictError(f"label {label_id} is not bound", label_id=label_id)
    existing.unbound_at = now
    session.flush()
    return existing
