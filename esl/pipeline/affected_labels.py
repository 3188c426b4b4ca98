"""Which labels a publication may have changed: the candidates the planner compares.

Whether a label changed is decided in one place, the planner's content identity (the
template and its version, the display model and `LabelContent.fingerprint`, which
covers every field a template draws). This module only has to find every label whose
content *may* differ, never fewer: the labels on the shelves the publication handed to
planning (`esl.planning_queue`): the (SKU, store) shelves whose price changes at its
instant, and every label of a SKU a promotion item reaches, in every store (a
promotion replaced by another at the same price with another end date changes only the
validity text). The planner's comparison costs a lookup for those whose content is
unchanged and sends them nothing.

A change a publication's rows make later (a row starting or ending after it, every row
of a file published for an instant) is queued as a `scheduled` publication following it
(`queue_later_instants`): what a file may change is its publication's labels and
theirs, at their instants (`labels_changed_by_import`); the planner says which of them
do, and from when (`LabelPlanner.candidate_keys`, `first_changes`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from esl.db.models import PlanningQueueRow
from esl.planning_queue import labels_on_shelves, queued_shelves, scheduled_followers

__all__ = ["labels_changed_by_import", "labels_changed_by_publication"]


def labels_changed_by_publication(session: Session, publication_id: int) -> list[str]:
    """The bound labels whose content the queued publication may have changed, sorted."""
    shelves, everywhere = queued_shelves(session, publication_id)
    return labels_on_shelves(session, shelves, everywhere)


def labels_changed_by_import(session: Session, publication_id: int) -> dict[str, list[datetime]]:
    """The bound labels the publication and the `scheduled` publications following it
    may change, each with the instants it may change at, earliest first; sorted by label.
    Which of them do change, and at which of these instants first, is the planner's to
    say (`LabelPlanner.candidate_keys`): a candidate may show the same content at each."""
    own = session.scalar(
        select(PlanningQueueRow.effective_at).where(
            PlanningQueueRow.publication_id == publication_id
        )
    )
    instants = [(publication_id, own)] if own is not None else []
    found: dict[str, set[datetime]] = {}
    for queued, instant in instants + scheduled_followers(session, publication_id):
        for label in labels_changed_by_publication(session, queued):
            found.setdefault(label, set()).add(instant)
    return {label: sorted(found[label]) for label in sorted(found)}
