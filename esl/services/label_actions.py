"""Asking a label to act (flash its LED, answer a ping, show its image again) and reading
what it answered. Writes a `label_actions` row; the controller sends it
(`esl.pipeline.label_actions`), so the API needs no link to the gateways."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from esl.db.console_models import LabelActionRow
from esl.db.models import LabelRow
from esl.db.repositories.rows import row_or_not_found
from esl.errors import ConflictError
from esl.pipeline.action_kinds import ActionKind, ActionStatus
from esl.services.keys import Principal
from esl.services.labels import refuse_retired, require_store_access

__all__ = [
    "REQUESTABLE",
    "ActionKind",
    "ActionStatus",
    "get_action",
    "recent_actions",
    "request_action",
]

# What staff may ask of any label; unassociating a BLE label is asked for through its
# inventory (`esl.services.ble_inventory.unassociate_ble_label`), which checks it has one.
REQUESTABLE = tuple(kind for kind in ActionKind if kind is not ActionKind.UNASSOCIATE)


def request_action(
    session: Session, *, principal: Principal, label_id: str, kind: ActionKind, now: datetime
) -> LabelActionRow:
    """Queue `kind` for the label (store keys: their own store's labels only)."""
    if kind not in REQUESTABLE:
        raise ConflictError(
            f"unassociate label {label_id} through its BLE inventory: "
            f"`esl label unassociate {label_id}`",
            label_id=label_id,
        )
    label = row_or_not_found(session, LabelRow, label_id, "label")
    require_store_access(principal, label.store)
    refuse_retired(label)
    row = LabelActionRow(
        label_id=label_id,
        action=kind.value,
        status=ActionStatus.REQUESTED.value,
        requested_by=principal.name,
        requested_at=now,
    )
    session.add(row)
    session.flush()
    return row


def get_action(session: Session, *, principal: Principal, action_id: int) -> LabelActionRow:
    row = row_or_not_found(session, LabelActionRow, action_id, "label action")
    label = session.get(LabelRow, row.label_id)
    assert label is not None
    require_store_access(principal, label.store)
    return row


def recent_actions(session: Session, label_id: str, *, limit: int = 10) -> list[LabelActionRow]:
    return list(
        session.scalars(
            select(LabelActionRow)
            .where(LabelActionRow.label_id == label_id)
            .order_by(LabelActionRow.id.desc())
            .limit(limit)
        )
    )
