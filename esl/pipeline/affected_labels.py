"""Which labels a publication may have changed: the candidates the planner compares.

Whether a label changed is decided in one place, the planner's content identity (the
template and its version, the display model and `LabelContent.fingerprint`, which
covers every field a template draws). This module only has to find every label whose
content *may* differ, never fewer:

- the ledger entries the publication wrote name the (SKU, store) shelves whose *price*
  changes at its instant;
- but a promotion can change what a label draws without changing its price: one
  promotion replaced by another at the same price with another end date changes the
  validity text ("do 08.12") and writes no ledger entry. So every label bound to a SKU
  a promotion item names (directly, through its categories, or as the SKUs of the
  promotion it ends or replaces) is a candidate too, in every store; the planner's
  comparison costs a lookup for those whose content is unchanged and sends them nothing.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from esl.db.models import (
    LabelBindingRow,
    LabelRow,
    LedgerEntryRow,
    ProductRow,
    PromotionTargetRow,
    PublicationItemRow,
)
from esl.db.repositories import in_chunks
from pricing import Channel

__all__ = ["labels_changed_by_publication"]

_PROMOTION_ACTIONS = ("upsert_promotion", "end_promotion")


def labels_changed_by_publication(session: Session, publication_id: int) -> list[str]:
    """The bound labels whose content the publication may have changed, sorted."""
    shelves = {
        (sku, store)
        for sku, store in session.execute(
            select(LedgerEntryRow.sku, LedgerEntryRow.store).where(
                LedgerEntryRow.publication_id == publication_id,
                LedgerEntryRow.channel == Channel.STORE.value,
            )
        )
    }
    everywhere = _skus_of_promotion_items(session, publication_id)
    skus = sorted({sku for sku, _ in shelves} | everywhere)
    labels: list[str] = []
    for chunk in in_chunks(sorted(skus)):
        rows = session.execute(
            select(LabelBindingRow.label_id, LabelBindingRow.sku, LabelRow.store)
            .join(LabelRow, LabelRow.id == LabelBindingRow.label_id)
            .where(LabelBindingRow.unbound_at.is_(None), LabelBindingRow.sku.in_(chunk))
        )
        labels += [
            label for label, sku, store in rows if sku in everywhere or (sku, store) in shelves
        ]
    return sorted(labels)


def _skus_of_promotion_items(session: Session, publication_id: int) -> set[str]:
    """Every SKU a promotion item of the publication reaches."""
    skus: set[str] = set()
    categories: set[str] = set()
    promotion_ids: set[str] = set()
    for payload in session.scalars(
        select(PublicationItemRow.payload).where(
            PublicationItemRow.publication_id == publication_id,
            PublicationItemRow.action.in_(_PROMOTION_ACTIONS),
        )
    ):
        skus.update(str(sku) for sku in payload.get("skus", ()))
        categories.update(str(category) for category in payload.get("categories", ()))
        if payload.get("promotion_id"):
            promotion_ids.add(str(payload["promotion_id"]))
    # An end names only the promotion: its targets are stored with it.
    for chunk in in_chunks(sorted(promotion_ids)):
        for dimension, value in session.execute(
            select(PromotionTargetRow.dimension, PromotionTargetRow.value).where(
                PromotionTargetRow.promotion_id.in_(chunk),
                PromotionTargetRow.dimension.in_(("sku", "category")),
            )
        ):
            (skus if dimension == "sku" else categories).add(value)
    for chunk in in_chunks(sorted(categories)):
        skus.update(session.scalars(select(ProductRow.sku).where(ProductRow.category.in_(chunk))))
    return skus
