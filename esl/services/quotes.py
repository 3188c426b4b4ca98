"""The quote: one key's resolved price, loading only what that key needs.

The web shop and the audit ask for one (SKU, channel, store) at a time, against a
catalogue of 100,000 SKUs x 50 stores. A quote reads, by index and with prepared Core
statements (no ORM objects; `esl.db.repositories`): the product, its rules, the
promotions naming the SKU or its category with their targets, the stores, and the key's
ledger. It then builds an
engine `Catalogue` of that slice and resolves, so the answer is exactly what the engine
says for the whole catalogue.

A quote for a past instant prices the store as it was then (`catalogue_as_at`: a store
moved to another zone since was charged its old zone's prices and promotions) and the
product as it was then (`products_as_at`: a product moved to another category since was
reduced by its old category's promotions, a pack size put right since had the unit price
of the size then), and with the price rules and promotions as the record held them then
(`catalogue_as_at`: a rule updated in place since is quoted at its price then, one written
since with a start already passed not at all), as the ledger recorded it and the audit of
that instant does.

A quote for a later instant says what the shelf will say then. The ledger records a
price rule or promotion starting or ending by itself only when its instant arrives
(`esl.services.ledger_instants`), so the key's ledger is carried forward first, on a copy,
by what the catalogue charges at each of its boundaries from now to that instant: a
store's own price from tomorrow is in the 30-day prior price of a promotion next week.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from esl.db.repositories import (
    catalogue_as_at,
    load_key_ledger,
    load_sku_catalogue,
    products_as_at,
)
from esl.errors import NotFoundError
from esl.settings import Settings
from pricing.catalogue import Catalogue
from pricing.ledger import PriceKey, PriceLedger
from pricing.products import Channel
from pricing.replay import replay_history
from pricing.resolution import resolve
from pricing.resolved import ResolvedPrice

__all__ = ["quote", "shelf_quote"]


def quote(
    session: Session,
    *,
    sku: str,
    store: str,
    channel: str,
    at: datetime,
    now: datetime,
    locale: str,
    currency: str,
) -> ResolvedPrice:
    """Resolve (sku, channel, store) at `at`, asked at `now`; NotFoundError for an unknown
    SKU or store."""
    # A past instant prices the product as it was then (its category, pack size then).
    then = products_as_at(session, at, now=now, skus=[sku]).get(sku)
    catalogue = load_sku_catalogue(session, sku, currency=currency, product_then=then)
    if store not in catalogue.stores:
        raise NotFoundError("store", store)
    # A past instant prices the store as it was then (its zone then), as the ledger
    # recorded it and the audit of that instant does.
    catalogue = catalogue_as_at(session, catalogue, at=at, now=now, stores=[store])
    key = PriceKey(sku, Channel(channel), store)
    ledger = load_key_ledger(session, key)
    if at > now:
        ledger = _carried_forward(catalogue, ledger, key, now=now, until=at, locale=locale)
    return resolve(
        catalogue,
        sku=sku,
        channel=key.channel,
        store=store,
        at=at,
        ledger=ledger,
        locale=locale,
    )


def _carried_forward(
    catalogue: Catalogue,
    ledger: PriceLedger,
    key: PriceKey,
    *,
    now: datetime,
    until: datetime,
    locale: str,
) -> PriceLedger:
    """`key`'s ledger as it will read at `until`: what it recorded up to `now`, then what
    the catalogue charges at every boundary after `now` up to `until`, as each instant's
    recording will write it when it arrives.

    The entries written ahead (a publication effective later) are left out: they are
    plans the recording of their instant confirms, corrects or removes, and the
    catalogue they were planned in is this one or older. Replayed on a copy: a quote
    writes nothing."""
    recorded = PriceLedger(entry for entry in ledger.entries(key) if entry.effective_from <= now)
    replay_history(catalogue, ledger=recorded, since=now, until=until, keys=[key], locale=locale)
    return recorded


def shelf_quote(
    session: Session, *, sku: str, store: str, now: datetime, settings: Settings
) -> ResolvedPrice:
    """What the shelf label of `sku` in `store` shows now: the store channel, in the
    system's label language and currency."""
    return quote(
        session,
        sku=sku,
        store=store,
        channel=Channel.STORE,
        at=now,
        now=now,
        locale=settings.locale,
        currency=settings.currency,
    )
