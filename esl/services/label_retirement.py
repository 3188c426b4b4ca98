"""Retiring a label: it is broken or thrown away, and will not answer again.

A label unbound while out of reach never answers its identification screen, so the
audit lists it as still showing its last price (`unbound_showing_price`) and
`esl audit --fail-after` alerts for ever. Retiring it says it is gone: its binding ends,
its open frames are superseded, and the audit, health, keep-alive pings and the
identification screens leave it out; it is bound to nothing and sent nothing again
(`esl.services.labels.refuse_retired`). Its history (frames, answers, actions,
bindings) stays.

A BLE label still associated holds a key the controller would sign with and may come
back in reach: it is unassociated first (through the device, or with `--force` for one
that is gone, which forgets its key; the audit lists it, by what its panel last
showed, until it is retired).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from esl.db.ble_models import BleLabelInventoryRow
from esl.db.console_models import LabelActionRow
from esl.db.models import LabelRow
from esl.db.repositories.rows import row_or_not_found
from esl.errors import ConflictError
from esl.pipeline.action_kinds import RETIRED_NOT_SENT, ActionStatus
from esl.pipeline.frames import supersede_open_frames
from esl.services.keys import Principal
from esl.services.labels import current_binding, require_store_access, unbind_label

__all__ = ["retire_label"]


def retire_label(
    session: Session, *, principal: Principal, label_id: str, now: datetime
) -> LabelRow:
    """Retire `label_id` (store keys: their own store's labels only); a label already
    retired is returned as it is. Refused, changing nothing, for an unknown label, one
    of another store or a BLE label still associated."""
    label = row_or_not_found(session, LabelRow, label_id, "label")
    require_store_access(principal, label.store)
    if label.retired_at is not None:
        return label
    if session.get(BleLabelInventoryRow, label_id) is not None:
        raise ConflictError(
            f"label {label_id} is still associated over BLE: unassociate it first "
            f"(`esl label unassociate {label_id}`, or with --force for a label that is gone)",
            label_id=label_id,
        )
    if current_binding(session, label_id) is not None:
        unbind_label(session, principal=principal, label_id=label_id, now=now)
    supersede_open_frames(session, [label_id], now=now)
    # Actions not sent yet never will be; one sent keeps its status (its answer may come).
    session.execute(
        update(LabelActionRow)
        .where(
            LabelActionRow.label_id == label_id,
            LabelActionRow.status == ActionStatus.REQUESTED.value,
        )
        .values(status=ActionStatus.FAILED.value, answered_at=now, detail=RETIRED_NOT_SENT)
    )
    label.retired_at, label.retired_by = now, principal.name
    session.flush()
    return label
