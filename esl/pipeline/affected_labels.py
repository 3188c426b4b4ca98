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
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from esl.planning_queue import labels_on_shelves, queued_shelves

__all__ = ["labels_changed_by_publication"]


def labels_changed_by_publication(session: Session, publication_id: int) -> list[str]:
    """The bound labels whose content the queued publication may have changed, sorted."""
    shelves, everywhere = queued_shelves(session, publication_id)
    return labels_on_shelves(session, shelves, everywhere)
