"""The history row of an operation that made the record forget what a label shows.

The record of a label's panel is changed by its words (check-ins, answers: settlement
keeps each with what the record made of it, `esl.delivery_states.RecordedPanel`) and
by a few operations of the controller's own: a refresh asked for, a panel swapped for
another model, a BLE label associated anew. Each of these forgets what
the label shows, so the live audit says `unconfirmed` until the label acknowledges its
image sent again. Without a row, the past audit read the panel taken before the
operation: `match` on a blank new panel. So each writes one, `RecordedPanel.FORGOTTEN`
(its reason the operation, `PanelForgottenBy`), which the past audit reads as the live
one read the record (`esl.audit.label_reads.past_seen`).

Those rows also wake planning where nothing else does: a BLE association is recorded by
the API, not the controller, so the controller looks for the rows `associated anew` kept
since its last look (`associated_anew_since`) and plans those labels at once, as a
refresh taken up or a model change (its new binding) is. Before, such a label waited
for the reconciliation pass (every 5 minutes), blank on the shelf: a BLE label does not
check in, so no check-in put it right sooner. It looks by id (`id_watermark`): the rows
above the last it looked at, and the ids missing below it, whose transactions (an
association recorded at the same time as another) may commit after a later row's was
looked at.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.orm import Session

from esl.db.bulk import insert_rows
from esl.db.models import LabelAcknowledgementRow, LabelStateRow, core_table
from esl.db.repositories import in_chunks
from esl.delivery_states import PanelForgottenBy, RecordedPanel
from esl.pipeline.id_watermark import ids_missing

__all__ = ["AssociatedAnew", "associated_anew_since", "keep_panel_forgotten"]

_ASSOCIATED_ANEW: ColumnElement[bool] = and_(
    LabelAcknowledgementRow.panel == RecordedPanel.FORGOTTEN.value,
    LabelAcknowledgementRow.reason == PanelForgottenBy.ASSOCIATED.value,
)


def keep_panel_forgotten(
    session: Session, label_ids: Collection[str], *, by: PanelForgottenBy, at: datetime
) -> None:
    """`by` made the record forget what each of `label_ids` shows at `at`: keep that in
    its history. The row's sequence is the label's newest believed answer's (it is the
    word the record follows), so it names no answer the label has not given; the label
    was not heard (`heard` false), and the row names no image."""
    rows = []
    for chunk in in_chunks(sorted(label_ids)):
        for label_id, claim in session.execute(
            select(LabelStateRow.label_id, LabelStateRow.claim_sequence).where(
                LabelStateRow.label_id.in_(chunk)
            )
        ):
            rows.append(
                {
                    "label_id": label_id,
                    "sequence": claim or 0,
                    "reason": by.value,
                    "displayed_hash": None,
                    "acked_hash": None,
                    "at": at,
                    "panel": RecordedPanel.FORGOTTEN.value,
                    "heard": False,
                }
            )
    insert_rows(session, core_table(LabelAcknowledgementRow), rows)


@dataclass(frozen=True, slots=True)
class AssociatedAnew:
    """What one look at the history rows found (`associated_anew_since`)."""

    newest: int  # the newest row's id
    labels: list[str]  # associated anew in the rows looked at
    found: list[int]  # the ids looked for again that are there now
    missing: list[int]  # the new ids not there (yet): none when more than asked


def associated_anew_since(
    session: Session, seen: int | None, *, waiting: Collection[int] = (), room: int = 0
) -> AssociatedAnew:
    """The labels associated anew in the history rows after `seen` (an id; None, the
    first look: none, every label is planned at a start) and in those of the ids
    `waiting` (missing before), with the ids missing after `seen` when they are no more
    than `room`. Nothing new, and nothing waited for: one indexed lookup."""
    row_id = LabelAcknowledgementRow.id
    newest = session.scalar(select(func.max(row_id))) or 0
    if seen is None:
        return AssociatedAnew(newest=newest, labels=[], found=[], missing=[])
    labels: set[str] = set()
    found: list[int] = []
    if waiting:
        for waited, label_id, anew in session.execute(
            select(row_id, LabelAcknowledgementRow.label_id, _ASSOCIATED_ANEW).where(
                row_id.in_(sorted(waiting))
            )
        ):
            found.append(waited)
            if anew:
                labels.add(label_id)
    missing: list[int] = []
    if newest > seen:
        new = and_(row_id > seen, row_id <= newest)
        # The ids missing before the labels are read: each statement sees the rows
        # committed when it runs (READ COMMITTED), so a row committing in between is
        # read by the later one, and one committing after both is among the missing.
        # Counted first: all there (no writer at once) costs no list of ids.
        absent = newest - seen - (session.scalar(select(func.count(row_id)).where(new)) or 0)
        if 0 < absent <= room:
            missing = ids_missing(seen, newest, set(session.scalars(select(row_id).where(new))))
        labels.update(
            session.scalars(
                select(LabelAcknowledgementRow.label_id).where(new, _ASSOCIATED_ANEW).distinct()
            )
        )
    return AssociatedAnew(newest=newest, labels=sorted(labels), found=found, missing=missing)
