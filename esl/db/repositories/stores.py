"""The stores as they were at an instant: each one's version valid then (`store_versions`,
written with every store created or changed); each with its opening (`stores.opened`,
`Store.opened`), from which its shelves have been selling."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from esl.db.models import StoreRow, StoreVersionRow, core_table
from pricing.catalogue import Catalogue
from pricing.products import Store

__all__ = ["catalogue_as_at", "stores_as_at"]

_versions = core_table(StoreVersionRow)
_stores = core_table(StoreRow)


def catalogue_as_at(
    session: Session,
    catalogue: Catalogue,
    *,
    at: datetime,
    now: datetime,
    stores: Collection[str] | None = None,
) -> Catalogue:
    """`catalogue` (read now) pricing an instant passed (`at` before `now`) with each
    store as it was then (`stores_as_at`; `stores`: only those, the ones asked about): a
    store moved to another zone since was charged its zone's prices and promotions then,
    which the ledger recorded. The quote and the audit of a past instant both ask here.
    For now or later, the stores as they are."""
    if at >= now:
        return catalogue
    return catalogue.with_stores(stores_as_at(session, at, stores=stores))


def stores_as_at(
    session: Session, at: datetime, *, stores: Collection[str] | None = None
) -> list[Store]:
    """Each store (of `stores`; None: every one) as it was at `at`: its newest version
    valid from then or before. A store with no version that early (opened since, or
    written without one) is left out: the caller takes it as it is now."""
    newest: dict[str, Store] = {}
    query = (
        select(
            _versions.c.store,
            _versions.c.name,
            _versions.c.zone,
            _versions.c.time_zone,
            # The opening is the store's, not a version's: one, whatever it was called.
            _stores.c.opened,
        )
        .join(_stores, _stores.c.code == _versions.c.store)
        .where(_versions.c.valid_from <= at)
    )
    if stores is not None:
        query = query.where(_versions.c.store.in_(sorted(stores)))
    rows = session.execute(query.order_by(_versions.c.store, _versions.c.valid_from))
    for code, name, zone, time_zone, opened in rows:
        # Ordered by instant: a later version of the store replaces the earlier one.
        newest[code] = Store(code=code, name=name, zone=zone, time_zone=time_zone, opened=opened)
    return list(newest.values())
