"""Since when a label showing the due amount, but drawn otherwise, has been wrong.

A label not showing the due content is wrong since its due price started (the ledger's
newest entry for its key), or since it was bound if later. But the ledger records a
change of the amount charged only: a pack size put right (another unit price), a
promotion ended and another begun at the same price (another last day on the label), a
promotion's terms or end changed, a store given another time zone write no entry. A label
still showing the content from before such a change shows the due amount, and dated by
the ledger it read as wrong since that amount began, days before the change made it
wrong (`esl audit --fail-after 30m` alerted a minute after the change).

Such a label is dated from the first instant after the ledger's (or its binding's) at
which what differs between the content it shows and the due one may have changed:
- a product version of its SKU (`product_versions`: its facts from then on; the first,
  its creation, is before the label was bound), when it shows another unit price, or
  shows the due promotion (or none) in its due time zone: its other fields differ;
- the start of the due promotion, when the label shows another one (or none);
- the end of the promotion the label shows, when another (or none) is due;
- the publication that last wrote the due promotion (its terms, its end);
- a store version of its store (`store_versions`; not one that moved its opening alone,
  which draws no last day), when the label prints a last day of another time zone than
  the due one;
- when the label prints another prior price than the due one, the first change of its
  shelf's ledger, product or store's opening at which the record made another one due
  than it prints (`esl.audit.known_prior`: imported history from when it was recorded):
  the 30-day low of a reduction long on the shelf changes then, its amount not. One
  whose prior price was wrong as the record stood at the ledger's instant already
  (drawn wrong) is wrong since that instant: no later change dates it.
Before the first of these the due content was what it had been at the ledger's instant;
a label showing the due amount then is taken to have been right. Read for the few labels
found late, in five queries.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Column, select
from sqlalchemy.orm import Session

from esl.audit.classify import LabelFacts, ShownContent
from esl.audit.known_prior import KnownPriorPrices
from esl.db.models import (
    ProductVersionRow,
    PromotionRow,
    PublicationRow,
    StoreVersionRow,
    core_table,
)
from esl.db.repositories.chunks import in_chunks
from pricing import Catalogue, ResolvedPrice

__all__ = ["ContentChanges"]

_products = core_table(ProductVersionRow)
_stores = core_table(StoreVersionRow)
_promotions = core_table(PromotionRow)
_publications = core_table(PublicationRow)


class ContentChanges:
    """The instants up to `at` at which what the labels of `late` draw may have changed
    though their price did not."""

    def __init__(
        self,
        session: Session,
        catalogue: Catalogue,
        late: Iterable[LabelFacts],
        *,
        at: datetime,
        prior_price_wrong: Collection[str] = (),
    ) -> None:
        """`prior_price_wrong`: the labels printing another prior price than the due one."""
        self._catalogue = catalogue
        self._at = at
        same_amount = [facts for facts in late if _shows_due_amount(facts)]
        self._prior_price_wrong = {
            f.label_id for f in same_amount if f.label_id in prior_price_wrong
        }
        self._known_priors = KnownPriorPrices(
            session,
            {(f.sku, f.store) for f in same_amount if f.label_id in self._prior_price_wrong},
            at=at,
        )
        self._products = _versions(
            session, _products.c.sku, _products.c.valid_from, {f.sku for f in same_amount}, at=at
        )
        self._stores = _store_versions(
            session, {f.store for f in same_amount if f.misdated is not None}, at=at
        )
        self._published = _promotions_published(
            session,
            {f.due.promotion.id for f in same_amount if f.due and f.due.promotion},
            at=at,
        )

    def due_since(self, facts: LabelFacts, ledger_since: datetime | None) -> datetime | None:
        """When the content due for the label of `facts` (not shown) became due, as far
        as the audit can tell: the ledger's `ledger_since` (when its price started), or
        for a label showing the due amount the first instant after that (and after its
        binding) at which what it must draw may have changed, if any."""
        shown, due = facts.shown, facts.due
        if shown is None or due is None or not _shows_due_amount(facts):
            return ledger_since
        floor = max(t for t in (ledger_since, facts.bound_at) if t is not None)
        changes = list(self._changes(facts, due, shown))
        if facts.label_id in self._prior_price_wrong:
            # Its prior price dates it only from a change that found the line right: one
            # wrong from the start (drawn wrong) is wrong since the due price began.
            prior_since = self._known_priors.wrong_since(
                shown,
                store=facts.store,
                product=self._catalogue.products.get(facts.sku),
                known_store=self._catalogue.stores.get(facts.store),
                since=floor,
            )
            if prior_since is None or prior_since <= floor:
                return ledger_since
            changes.append(prior_since)
        later = [t for t in changes if floor < t <= self._at]
        return min(later) if later else ledger_since

    def _changes(
        self, facts: LabelFacts, due_price: ResolvedPrice, shown: ShownContent
    ) -> Iterable[datetime]:
        due = due_price.promotion
        shown_id = shown.promotion_id
        other_promotion = shown_id != (due.id if due is not None else None)
        due_unit = (
            due_price.unit_price.amount if due_price.unit_price is not None else None,
            due_price.unit_label,
        )
        # Only a change of what differs: a product changed for another reason before the
        # promotion the label misses began does not date it.
        if (shown.unit_price, shown.unit_label) != due_unit or (
            not other_promotion and facts.misdated is None
        ):
            yield from self._products.get(facts.sku, ())
        if facts.misdated is not None:
            yield from self._stores.get(facts.store, ())
        promotions = self._catalogue.promotions
        if due is not None:
            published = self._published.get(due.id)
            if published is not None:
                yield published
            started = promotions[due.id].valid_from if due.id in promotions else None
            if other_promotion and started is not None:
                yield started
        if shown_id is not None and other_promotion:
            ended = promotions[shown_id].valid_until if shown_id in promotions else None
            if ended is not None:
                yield ended


def _shows_due_amount(facts: LabelFacts) -> bool:
    """Whether the label shows the price and regular price due (what the ledger dates) of
    the product it is bound to. One showing another product at the same amount (its
    re-binding never landed) was wrong since the binding: a later edit of the bound
    product must not date it (that would hide a shelf overdue for days)."""
    shown, due = facts.shown, facts.due
    return (
        shown is not None
        and due is not None
        and shown.sku == facts.sku
        and shown.currency == due.price.currency
        and shown.price == due.price.amount
        and shown.regular_price == due.regular_price.amount
    )


def _versions(
    session: Session,
    key: Column[Any],
    valid_from: Column[Any],
    keys: Collection[str],
    *,
    at: datetime,
) -> dict[str, list[datetime]]:
    """Key -> the starts of its versions up to `at`, oldest first."""
    found: dict[str, list[datetime]] = defaultdict(list)
    for chunk in in_chunks(sorted(keys)):
        rows = session.execute(
            select(key, valid_from)
            .where(key.in_(chunk), valid_from <= at)
            .order_by(key, valid_from)
        )
        for code, started in rows:
            found[code].append(started)
    return found


def _store_versions(
    session: Session, stores: Collection[str], *, at: datetime
) -> dict[str, list[datetime]]:
    """Store code -> the starts of its versions up to `at`, oldest first, but those that
    changed its opening alone (kept in versions since migration 0049): an opening draws
    no last day, so it dates no misdated label."""
    found: dict[str, list[datetime]] = defaultdict(list)
    drawn = (_stores.c.name, _stores.c.zone, _stores.c.time_zone)
    for chunk in in_chunks(sorted(stores)):
        rows = session.execute(
            select(_stores.c.store, _stores.c.valid_from, *drawn)
            .where(_stores.c.store.in_(chunk), _stores.c.valid_from <= at)
            .order_by(_stores.c.store, _stores.c.valid_from)
        )
        before: dict[str, tuple[Any, ...]] = {}
        for code, started, *facts in rows:
            if before.get(code) != tuple(facts):
                found[code].append(started)
            before[code] = tuple(facts)
    return found


def _promotions_published(
    session: Session, ids: Collection[str], *, at: datetime
) -> dict[str, datetime]:
    """Promotion id -> when the publication that last wrote it took effect, if by `at`."""
    found: dict[str, datetime] = {}
    for chunk in in_chunks(sorted(ids)):
        rows = session.execute(
            select(_promotions.c.id, _publications.c.effective_at, _publications.c.published_at)
            .join(_publications, _publications.c.id == _promotions.c.publication_id)
            .where(_promotions.c.id.in_(chunk))
        )
        for promotion_id, effective_at, published_at in rows:
            instant = effective_at or published_at
            if instant is not None and instant <= at:
                found[promotion_id] = instant
    return found
