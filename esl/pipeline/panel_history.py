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
check in, so no check-in put it right sooner.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from esl.db.bulk import insert_rows
from esl.db.models import LabelAcknowledgementRow, LabelStateRow, core_table
from esl.db.repositories import in_chunks
from esl.delivery_states import PanelForgottenBy, RecordedPanel

__all__ = ["associated_anew_since", "keep_panel_forgotten"]


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


def associated_anew_since(session: Session, seen: int | None) -> tuple[int, list[str]]:
    """The newest history row's id, and the labels associated anew in rows after `seen`
    (an id; None, the first look: none, every label is planned at a start)."""
    newest = session.scalar(select(func.max(LabelAcknowledgementRow.id))) or 0
    if seen is None or newest <= seen:
        return max(newest, seen or 0), []
    labels = session.scalars(
        select(LabelAcknowledgementRow.label_id)
        .where(
            LabelAcknowledgementRow.id > seen,
            LabelAcknowledgementRow.id <= newest,
            LabelAcknowledgementRow.panel == RecordedPanel.FORGOTTEN.value,
            LabelAcknowledgementRow.reason == PanelForgottenBy.ASSOCIATED.value,
        )
        .distinct()
    )
    return newest, sorted(labels)
