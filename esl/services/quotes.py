"""The quote: one key's resolved price, loading only what that key needs.

The web shop and the audit ask for one (SKU, channel, store) at a time, against a
catalogue of 100,000 SKUs x 50 stores. A quote reads, by index and with prepared Core
statements (no ORM objects): the product, its rules, the promotions naming the SKU or
its category with their targets, the stores, and the key's ledger. It then builds an
engine `Catalogue` of that slice and resolves, so the answer is exactly what the engine
says for the whole catalogue.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, or_, select
from sqlalchemy.orm import Session

from esl.db.mapping import (
    price_rule_from_row,
    product_from_row,
    promotion_from_rows,
    store_from_row,
)
from esl.db.models import (
    LedgerEntryRow,
    PriceRuleRow,
    ProductRow,
    PromotionRow,
    PromotionTargetRow,
    StoreRow,
    core_table,
)
from esl.errors import NotFoundError
from pricing.catalogue import Catalogue
from pricing.ledger import LedgerEntry, PriceKey, PriceLedger
from pricing.money import Money
from pricing.products import Channel
from pricing.resolution import resolve
from pricing.resolved import ResolvedPrice

__all__ = ["quote"]

_products = core_table(ProductRow)
_rules = core_table(PriceRuleRow)
_targets = core_table(PromotionTargetRow)
_promotions = core_table(PromotionRow)
_stores = core_table(StoreRow)
_ledger = core_table(LedgerEntryRow)

PRODUCT = select(_products).where(_products.c.sku == bindparam("sku"))
RULES = select(_rules).where(_rules.c.sku == bindparam("sku"))
PROMOTION_IDS = select(_targets.c.promotion_id).where(
    or_(
        and_(_targets.c.dimension == "sku", _targets.c.value == bindparam("sku")),
        and_(_targets.c.dimension == "category", _targets.c.value == bindparam("category")),
    )
)
PROMOTIONS = select(_promotions).where(_promotions.c.id.in_(bindparam("ids", expanding=True)))
TARGETS = select(_targets).where(_targets.c.promotion_id.in_(bindparam("ids", expanding=True)))
STORES = select(_stores)
LEDGER = (
    select(_ledger)
    .where(
        _ledger.c.sku == bindparam("sku"),
        _ledger.c.channel == bindparam("channel"),
        _ledger.c.store == bindparam("store"),
    )
    .order_by(_ledger.c.effective_at)
)


def _slice(session: Session, sku: str, currency: str) -> Catalogue:
    product_row = session.execute(PRODUCT, {"sku": sku}).first()
    if product_row is None:
        raise NotFoundError("product", sku)
    product = product_from_row(product_row)
    rules = [price_rule_from_row(r) for r in session.execute(RULES, {"sku": sku})]
    ids = list(session.scalars(PROMOTION_IDS, {"sku": sku, "category": product.category}).unique())
    promotions = []
    if ids:
        targets: dict[str, list[Any]] = defaultdict(list)
        for target in session.execute(TARGETS, {"ids": ids}):
            # The slice holds one SKU: other SKUs a promotion names are left out.
            if target.dimension != "sku" or target.value == sku:
                targets[target.promotion_id].append(target)
        promotions = [
            promotion_from_rows(row, targets[row.id])
            for row in session.execute(PROMOTIONS, {"ids": ids})
        ]
    stores = [store_from_row(r) for r in session.execute(STORES)]
    return Catalogue(
        products=[product], stores=stores, rules=rules, promotions=promotions, currency=currency
    )


def _ledger_of(session: Session, key: PriceKey) -> PriceLedger:
    ledger = PriceLedger()
    params = {"sku": key.sku, "channel": key.channel.value, "store": key.store}
    for row in session.execute(LEDGER, params):
        ledger.append(
            LedgerEntry(
                key=key,
                effective_from=row.effective_at,
                price=Money.of(row.amount, row.currency),
                regular_price=Money.of(row.regular_amount, row.currency),
                promotion_id=row.promotion_id,
            )
        )
    return ledger


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
    catalogue = _slice(session, sku, currency)
    if store not in catalogue.stores:
        raise NotFoundError("store", store)
    key = PriceKey(sku, Channel(channel), store)
    return resolve(
        catalogue,
        sku=sku,
        channel=key.channel,
        store=store,
        at=at,
        ledger=_ledger_of(session, key),
        locale=locale,
    )
