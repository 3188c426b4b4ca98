"""The stores as they were at an instant: each one's version valid then (`store_versions`,
written with every store created or changed); each with its opening then (`Store.opened`,
kept in the version), from which its shelves have been selling. And a catalogue pricing a past
instant: those stores, with the price rules and promotions the record held then."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from esl.db.models import StoreRow, StoreVersionRow, core_table
from esl.db.repositories.rules import promotions_as_at, rules_as_at
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
    """`catalogue` (read now, its products already as they were then) pricing an instant
    passed (`at` before `now`) with each store as it was then (`stores_as_at`; `stores`:
    only those, the ones asked about), and with the price rules and promotions of its
    SKUs as the record held them then (`rules_as_at`, `promotions_as_at`): a store moved
    to another zone since was charged its zone's prices and promotions then, a rule
    updated in place since its amount then, and a rule or promotion written since (even
    claiming a start already passed) was not charged at all, as the ledger recorded. The
    quote and the audit of a past instant both ask here. For now or later, the catalogue
    as it is."""
    if at >= now:
        return catalogue
    rules = rules_as_at(session, catalogue.products.keys(), at)
    promotions = promotions_as_at(session, catalogue.products, at)
    then = Catalogue(
        products=catalogue.products.values(),
        stores=catalogue.stores.values(),
        rules=rules.applied_to(catalogue.rules.values(), id_of="id"),
        promotions=promotions.applied_to(catalogue.promotions.values(), id_of="id"),
        currency=catalogue.currency,
        promotion_prices_checked=True,  # when written
    )
    return then.with_stores(stores_as_at(session, at, stores=stores))


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
            # Its opening then (migration 0049: the store's opening in a version stored
            # before it), so a past instant is not priced with an opening moved since.
            _versions.c.opened,
            _stores.c.recorded_since,
        )
        .join(_stores, _stores.c.code == _versions.c.store)
        .where(_versions.c.valid_from <= at)
    )
    if stores is not None:
        query = query.where(_versions.c.store.in_(sorted(stores)))
    rows = session.execute(query.order_by(_versions.c.store, _versions.c.valid_from))
    for code, name, zone, time_zone, opened, recorded_since in rows:
        # Ordered by instant: a later version of the store replaces the earlier one.
        newest[code] = Store(
            code=code,
            name=name,
            zone=zone,
            time_zone=time_zone,
            opened=opened,
            recorded_since=recorded_since,
        )
    return list(newest.values())
