"""Load the part of the store of record that a question needs, as engine values.

A quote needs one SKU: its product, its rules (indexed by SKU), the promotions that name
it or its category (indexed by target), every store (few), and its ledger. Loading only
that keeps a quote in a few indexed queries whatever the size of the catalogue; the
engine's `Catalogue` validates the slice exactly as it would validate the whole.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Collection, Iterable
from decimal import Decimal

from sqlalchemy import select
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
from pricing.catalogue import Catalogue
from pricing.ledger import LedgerEntry, PriceKey, PriceLedger
from pricing.money import Money
from pricing.products import Channel, Product
from pricing.promotions import Promotion

__all__ = ["load_catalogue_slice", "load_ledger", "load_ledger_for_skus", "load_promotions"]

CHUNK = 500


def _chunks(values: Collection[str]) -> Iterable[list[str]]:
    ordered = sorted(values)
    for start in range(0, len(ordered), CHUNK):
        yield ordered[start : start + CHUNK]


def load_promotions(session: Session, ids: Collection[str]) -> dict[str, Promotion]:
    found: dict[str, Promotion] = {}
    for chunk in _chunks(ids):
        targets: dict[str, list[PromotionTargetRow]] = defaultdict(list)
        for target in session.scalars(
            select(PromotionTargetRow).where(PromotionTargetRow.promotion_id.in_(chunk))
        ):
            targets[target.promotion_id].append(target)
        for row in session.scalars(select(PromotionRow).where(PromotionRow.id.in_(chunk))):
            found[row.id] = promotion_from_rows(row, targets[row.id])
    return found


def _promotion_ids_for(session: Session, skus: Collection[str], categories: set[str]) -> set[str]:
    ids: set[str] = set()
    for chunk in _chunks(skus):
        ids.update(
            session.scalars(
                select(PromotionTargetRow.promotion_id).where(
                    PromotionTargetRow.dimension == "sku", PromotionTargetRow.value.in_(chunk)
                )
            )
        )
    for chunk in _chunks(categories):
        ids.update(
            session.scalars(
                select(PromotionTargetRow.promotion_id).where(
                    PromotionTargetRow.dimension == "category",
                    PromotionTargetRow.value.in_(chunk),
                )
            )
        )
    return ids


def load_catalogue_slice(session: Session, skus: Collection[str], *, currency: str) -> Catalogue:
    """A catalogue of `skus` (unknown ones left out), every store, and what prices them."""
    # Rows, not ORM objects: the planner loads a slice per publication before its first
    # frame, and building mapped objects was most of that wait.
    product_table, rule_table = core_table(ProductRow), core_table(PriceRuleRow)
    products: list[Product] = []
    for chunk in _chunks(skus):
        products += [
            product_from_row(r)
            for r in session.execute(select(product_table).where(product_table.c.sku.in_(chunk)))
        ]
    loaded = {p.sku for p in products}
    rules = []
    for chunk in _chunks(loaded):
        rules += [
            price_rule_from_row(r)
            for r in session.execute(select(rule_table).where(rule_table.c.sku.in_(chunk)))
        ]
    categories = {p.category for p in products}
    promotions = load_promotions(session, _promotion_ids_for(session, loaded, categories))
    # A promotion may name SKUs outside the slice; the slice only needs its own.
    trimmed = [
        dataclasses.replace(p, skus=p.skus & loaded) if p.skus - loaded else p
        for p in promotions.values()
    ]
    stores = [store_from_row(r) for r in session.scalars(select(StoreRow))]
    return Catalogue(
        products=products, stores=stores, rules=rules, promotions=trimmed, currency=currency
    )


def load_ledger(session: Session, key: PriceKey) -> PriceLedger:
    """The ledger of one key, every entry in time order (one index range scan)."""
    ledger = PriceLedger()
    statement = (
        select(LedgerEntryRow)
        .where(
            LedgerEntryRow.sku == key.sku,
            LedgerEntryRow.channel == key.channel.value,
            LedgerEntryRow.store == key.store,
        )
        .order_by(LedgerEntryRow.effective_at)
    )
    _append_rows(ledger, session.scalars(statement))
    return ledger


def _append_rows(ledger: PriceLedger, rows: Iterable[LedgerEntryRow]) -> None:
    for row in rows:
        ledger.append(
            LedgerEntry(
                key=PriceKey(row.sku, Channel(row.channel), row.store),
                effective_from=row.effective_at,
                price=Money.of(row.amount, row.currency),
                regular_price=Money.of(row.regular_amount, row.currency),
                promotion_id=row.promotion_id,
            )
        )


def load_ledger_for_skus(
    session: Session,
    skus: Collection[str],
    *,
    channels: Collection[Channel] | None = None,
    into: PriceLedger | None = None,
) -> PriceLedger:
    """Every key's ledger for `skus` (only `channels` when given), in time order, in a
    new ledger or appended to `into` (which must not hold these SKUs yet).

    Read as plain rows, not ORM objects, with one `Money` per distinct amount: a
    publication of 10,000 labels reads tens of thousands of entries, and building them
    was a third of its planning time.
    """
    ledger = PriceLedger() if into is None else into
    table = core_table(LedgerEntryRow)
    money: dict[tuple[Decimal, str], Money] = {}

    def money_of(amount: Decimal, currency: str) -> Money:
        known = money.get((amount, currency))
        if known is None:
            known = money[(amount, currency)] = Money.of(amount, currency)
        return known

    statement = select(
        table.c.sku,
        table.c.channel,
        table.c.store,
        table.c.effective_at,
        table.c.amount,
        table.c.regular_amount,
        table.c.currency,
        table.c.promotion_id,
    ).order_by(table.c.sku, table.c.channel, table.c.store, table.c.effective_at)
    if channels is not None:
        statement = statement.where(table.c.channel.in_(sorted(c.value for c in channels)))
    for chunk in _chunks(skus):
        for sku, channel, store, at, amount, regular, currency, promotion in session.execute(
            statement.where(table.c.sku.in_(chunk))
        ):
            ledger.append(
                LedgerEntry(
                    key=PriceKey(sku, Channel(channel), store),
                    effective_from=at,
                    price=money_of(amount, currency),
                    regular_price=money_of(regular, currency),
                    promotion_id=promotion,
                )
            )
    return ledger
