"""Unassociating a BLE label through the label itself, so the shelf never keeps showing a
price nobody maintains and the device gives up its key at once.

An `unassociate` label action (`esl.services.ble_inventory.unassociate_ble_label` asks
for it and ends the label's binding) goes in three steps, sent by the controller's label
action sender like flash and ping:

1. `begin_unassociation`: bound to nothing, the label is planned its identification
   screen (its id, store and QR code, no price) by the controller's identification pass;
   the action waits for it (sent, no sequence).
2. `settle_unassociation_screen`: once the label acknowledged a frame of that screen
   sent since the request (sent even when the record says it shows it: a frame of its
   binding superseded in the air could still reach the panel before it), the action is
   requested again, and the sender signs the ESL Unassociate command with the label's
   key. E-paper keeps its last image without power or key, so the screen comes first.
3. The label's signed acknowledgement (it deletes its key and ESL address, and advertises
   for association again): `forget_ble_association` forgets its key and inventory row.

The wait for the screen's answer counts from when the screen went out to the label, as a
refresh's for its image (`label_actions`): planning may reach the label late, or its
gateway's window be full. A screen never sent fails the action after the not-sent limit
(`screen_not_sent`); a label busy with an update before Unassociate is waited for from
the screen confirmed (`step_at`).

A label that does not answer in time (out of reach, flat battery) is not forgotten: the
action ends unanswered with `NOT_CONFIRMED`, the label still associated and its key kept,
so the controller can still sign for it. The operator asks again, or forces the
forgetting without the device (`force`).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from esl.db.ble_models import BleAddressReservationRow, BleLabelInventoryRow
from esl.db.console_models import LabelActionRow
from esl.db.models import LabelRow, LabelStateRow
from esl.pipeline.action_kinds import ActionStatus
from esl.pipeline.check_ins import forget_desired
from esl.pipeline.frames import supersede_open_frames
from esl.pipeline.outbox_rows import OUTBOX, acknowledged_since
from gateways.protocol import generate_label_key

__all__ = [
    "NOT_CONFIRMED",
    "begin_unassociation",
    "forget_ble_association",
    "screen_not_sent",
    "settle_unassociation_screen",
]

_KEY_KEPT = "it is still associated and the controller keeps its key"
_FORCE = "unassociate with --force (API: ?force=true) to forget it without the device"
NOT_CONFIRMED = (
    f"not confirmed: the label did not answer, so {_KEY_KEPT}; ask again once it is in "
    f"reach, or {_FORCE}"
)


def screen_not_sent(limit: timedelta) -> str:
    """Why an unassociation failed whose identification screen never went out within
    `limit` of the take-up (planning never reached the label, its window stayed full):
    the label was asked nothing, so nothing is forgotten."""
    return (
        f"its identification screen was not sent within {limit.total_seconds():g} s: "
        f"{_KEY_KEPT}; ask again, or {_FORCE}"
    )


def begin_unassociation(session: Session, action: LabelActionRow, *, now: datetime) -> None:
    """Step 1: wait for the identification screen planned since (frames told apart by
    their ids, as a refresh does). What it should show is forgotten, so planning sends
    the screen even to a label the record says shows it already."""
    forget_desired(session, [action.label_id])
    action.after_outbox_id = session.scalar(
        select(func.coalesce(func.max(OUTBOX.c.id), 0)).where(OUTBOX.c.label_id == action.label_id)
    )
    action.status = ActionStatus.SENT.value
    action.sent_at = now
    action.detail = "showing its identification screen before it is unassociated"


def settle_unassociation_screen(session: Session, action: LabelActionRow, *, now: datetime) -> None:
    """Step 2: the label acknowledged, since the request, a frame of the screen planned for
    no binding (its identification screen): have it sent Unassociate (the sender's next
    round signs it). The record alone is no proof: a frame of its binding superseded
    while in the air may still reach the panel, and only the screen's frame, taken after
    it, leaves the screen there (planning sends it although the record says it is shown,
    `label_actions.forget_shown_of_refreshing`)."""
    state = session.get(LabelStateRow, action.label_id)
    if (
        state is None
        or state.binding_id is not None
        or state.desired_hash is None
        or state.confirmed_hash != state.desired_hash
    ):
        return
    if not acknowledged_since(
        session, action.label_id, after_id=action.after_outbox_id, content_hash=state.desired_hash
    ):
        return
    action.status = ActionStatus.REQUESTED.value
    # A label busy with an update is waited for from here: the screen may have gone out
    # long after the request.
    action.step_at = now
    action.detail = "its identification screen is shown; sending it Unassociate"


def forget_ble_association(session: Session, label_id: str, *, now: datetime) -> str | None:
    """Step 3, or a forced unassociation: forget the label's inventory row, reservation
    and key (a new one is generated), take it off its gateway, supersede its open frames
    (signed with the forgotten key) and what it acknowledged (associated again, it gets
    its whole image). Its history stays. Where it was, or None if it was not."""
    label = session.get(LabelRow, label_id)
    row = session.get(BleLabelInventoryRow, label_id)
    if label is None or row is None:
        return None
    where = f"{row.address} (ESL {row.esl_group}/{row.esl_id} on {row.gateway})"
    session.execute(
        delete(BleAddressReservationRow).where(BleAddressReservationRow.label_id == label_id)
    )
    session.delete(row)
    label.secret_key = generate_label_key()
    label.gateway = None
    supersede_open_frames(session, [label_id], now=now)
    forget_desired(session, [label_id])
    state = session.get(LabelStateRow, label_id)
    if state is not None:
        # Nothing it acknowledged stands for anything signed now. What it last reported
        # stays: an e-paper panel keeps its image, so a label forgotten without the
        # device (forced) may still show a price, which the audit lists until the label
        # is retired or associated again (which forgets the panel: `record_ble_association`).
        state.confirmed_hash = None
    session.flush()
    return where
