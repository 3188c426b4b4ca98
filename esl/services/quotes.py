"""The quote: one key's resolved price, loading only what that key needs.

The web shop and the audit ask for one (SKU, channel, store) at a time, against a
catalogue of 100,000 SKUs x 50 stores. A quote reads, by index and with prepared Core
statements (no ORM objects; `esl.db.repositories`): the product, its rules, the
promotions naming the SKU or its category with their targets, the stores, and the key's
ledger. It then builds an
engine `Catalogue` of that slice and resolves, so the answer is exactly what the engine
says for the whole catalogue.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from esl.db.repositories import load_key_ledger, load_sku_catalogue
from esl.errors import NotFoundError
from esl.settings import Settings
from pricing.ledger import PriceKey
from pricing.products import Channel
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
    locale: str,
    currency: str,
) -> ResolvedPrice:
    """Resolve (sku, channel, store) at `at`; NotFoundError for an unknown SKU or store."""
    catalogue = load_sku_catalogue(session, sku, currency=currency)
    if store not in catalogue.stores:
        raise NotFoundError("store", store)
    key = PriceKey(sku, Channel(channel), store)
    return resolve(
        catalogue,
        sku=sku,
        channel=key.channel,
        store=store,
        at=at,
        ledger=load_key_ledger(session, key),
        locale=locale,
    )


def shelf_quote(
    session: Session, *, sku: str, store: str, at: datetime, settings: Settings
) -> ResolvedPrice:
    """What the shelf label of `sku` in `store` shows: the store channel, in the system's
    label language and currency."""
    return quote(
        session,
        sku=sku,
        store=store,
        channel=Channel.STORE,
        at=at,
        locale=settings.locale,
        currency=settings.currency,
    )
