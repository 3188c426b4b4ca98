"""A registered label's display model changed: the gateway's provisioning file lists it
(same id, same key, same store) as another model.

That is a panel swapped at the same address, or a tag whose type changed (an OEPL tag
reflashed, the AP's tag-type definitions corrected, and the file edited to say so). The
gateway draws and checks images for the model its file holds, so the controller takes
the file's model: kept as it was, every image would be drawn for the old panel and
refused by the gateway as `WRONG_MODEL`, and no route could change it afterwards.

The change is applied, never silent (the import reports each one), and re-plans the
label for its new panel: its binding is opened again (same product and template, a new
row: the controller plans a new binding at its next look, instead of at the periodic
re-plan), and the planner then renders for the new model. Its key names the model, so
the content differs; older open frames (drawn for the old panel) are superseded, and
the new frame is a full image (a delta needs a base of the new model: there is none).
A label bound to nothing is planned again by the identification look anyway. What the
record says the label shows is forgotten: it was drawn on the old panel, and the audit
must not call a blank new panel `match` while its image is on its way. So is the timed
image the old panel held (`held_hash`): the new panel holds none, and flips to nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from esl.db.models import LabelBindingRow, LabelRow, LabelStateRow
from esl.db.repositories import in_chunks
from esl.delivery_states import PanelForgottenBy
from esl.pipeline.panel_history import keep_panel_forgotten
from gateways.protocol import LabelProvision

__all__ = ["ModelChange", "change_label_models"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ModelChange:
    label_id: str
    old_model: str
    new_model: str


def change_label_models(
    session: Session, provisions: Iterable[LabelProvision], *, now: datetime
) -> list[ModelChange]:
    """Give each registered label of `provisions` the model its entry names, when another
    (the caller checked key and store); the changes, by label id."""
    wanted = {p.label_id: p.model_id for p in provisions}
    changes: list[ModelChange] = []
    for chunk in in_chunks(sorted(wanted)):
        for label_id, model in session.execute(
            select(LabelRow.id, LabelRow.model).where(LabelRow.id.in_(chunk))
        ):
            if model != wanted[label_id]:
                changes.append(ModelChange(label_id, model, wanted[label_id]))
    for change in changes:
        session.execute(
            update(LabelRow).where(LabelRow.id == change.label_id).values(model=change.new_model)
        )
        _bind_again(session, change, now=now)
        _forget_the_old_panel(session, change.label_id)
        log.info(
            "label %s is now a %s (was %s): planned again for its new panel",
            change.label_id,
            change.new_model,
            change.old_model,
        )
    # Kept in its history, so an audit of an instant since says `unconfirmed` too.
    keep_panel_forgotten(
        session, [c.label_id for c in changes], by=PanelForgottenBy.MODEL_CHANGED, at=now
    )
    return changes


def _bind_again(session: Session, change: ModelChange, *, now: datetime) -> None:
    binding = session.scalar(
        select(LabelBindingRow).where(
            LabelBindingRow.label_id == change.label_id, LabelBindingRow.unbound_at.is_(None)
        )
    )
    if binding is None:
        return
    binding.unbound_at = now
    session.flush()  # one current binding per label (uq_label_bindings_current)
    session.add(
        LabelBindingRow(
            label_id=change.label_id,
            sku=binding.sku,
            template=binding.template,
            bound_at=now,
            bound_by=f"model change {change.old_model} -> {change.new_model}",
        )
    )
    session.flush()


def _forget_the_old_panel(session: Session, label_id: str) -> None:
    """What the record says the label shows was drawn on the old panel: the new one shows
    none of it (blank, or whatever its last owner left). Forgotten, so the audit says the
    label is unconfirmed until the new panel acknowledges its image, instead of `match`
    for a blank shelf while that image is on its way (or lost). Nor does the new panel
    hold the old one's timed image: read as flipped at its instant, the audit said the
    blank new panel showed the promotion's price."""
    state = session.get(LabelStateRow, label_id)
    if state is not None:
        state.displayed_hash = None
        state.confirmed_hash = None
        state.held_hash = state.held_display_at = None
