"""Catalogue slices: the part of the store of record a question needs, as engine values.

A quote needs one SKU, a publication or an import the SKUs it touches, the audit every
SKU: each gets the products, their rules (indexed by SKU), the promotions that name them
or their categories (indexed by (dimension, value)) with their targets, and every store
(few). The engine's `Catalogue` then validates the slice exactly as it would the whole.
Rows are read through Core, not as ORM objects: building mapped objects was most of the
wait before a publication's first frame.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from typing import Any

from sqlalchemy import Row, and_, bindparam, or_, select
from sqlalchemy.orm import Session

from esl.db.mapping import (
    price_rule_from_row,
    product_from_row,
    promotion_from_rows,
    store_from_row,
)
from esl.db.models import (
    PriceRuleRow,
    ProductRow,
    PromotionRow,
    PromotionTargetRow,
    StoreRow,
    core_table,
)
from esl.db.repositories.chunks import CHUNK, in_chunks
from esl.errors import NotFoundError
from pricing.catalogue import Catalogue
from pricing.products import Product, Store
from pricing.promotions import Promotion

__all__ = ["load_catalogue_slice", "load_promotions", "load_sku_catalogue"]

_products = core_table(ProductRow)
_rules = core_table(PriceRuleRow)
_promotions = core_table(PromotionRow)
_targets = core_table(PromotionTargetRow)
_stores = core_table(StoreRow)

# One SKU's statements, compiled once per process and reused by every quote.
_PRODUCT = select(_products).where(_products.c.sku == bindparam("sku"))
_RULES = select(_rules).where(_rules.c.sku == bindparam("sku"))
_PROMOTIONS_NAMING = select(_targets.c.promotion_id).where(
    or_(
        and_(_targets.c.dimension == "sku", _targets.c.value == bindparam("sku")),
        and_(_targets.c.dimension == "category", _targets.c.value == bindparam("category")),
    )
)
_PROMOTIONS = select(_promotions).where(_promotions.c.id.in_(bindparam("ids", expanding=True)))
_TARGETS = select(_targets).where(_targets.c.promotion_id.in_(bindparam("ids", expanding=True)))
_STORES = select(_stores)


def load_promotions(session: Session, ids: Collection[str]) -> dict[str, Promotion]:
    """The stored promotions of `ids` (unknown ids left out), complete with every target."""
    found: dict[str, Promotion] = {}
    for chunk in in_chunks(sorted(ids)):
        targets = _targets_by_promotion(session.execute(_TARGETS, {"ids": chunk}))
        for row in session.execute(_PROMOTIONS, {"ids": chunk}):
            found[row.id] = promotion_from_rows(row, targets[row.id])
    return found


def load_catalogue_slice(
    session: Session,
    skus: Collection[str],
    *,
    currency: str,
    stores: Collection[str] | None = None,
    products_then: Mapping[str, Product] | None = None,
) -> Catalogue:
    """A catalogue of `skus` (unknown ones left out), every store, and what prices them;
    with `stores`, only the price rules that can apply there (national, zone, and those
    stores' own): planning a chain store by store must not hold every store's prices.
    `products_then`: products as they were at a past instant (`products_as_at`), in place
    of the stored ones of their SKUs, their categories then bringing their promotions.

    Its promotions are not checked against its rules again (they were when written): after
    a move (a store to another zone, a product to another category) the caller checks the
    pairs the move made meet (`Catalogue.check_promotions_met_anew`)."""
    products = [
        product_from_row(r)
        for chunk in in_chunks(sorted(skus))
        for r in session.execute(select(_products).where(_products.c.sku.in_(chunk)))
    ]
    if products_then:
        products = [products_then.get(p.sku, p) for p in products]
    loaded = {p.sku for p in products}
    rules_of = select(_rules)
    wanted: set[str] | None = None
    if stores is not None:
        wanted = set(stores)
        if len(wanted) <= CHUNK:
            rules_of = rules_of.where(or_(_rules.c.store.is_(None), _rules.c.store.in_(wanted)))
    rules = [
        price_rule_from_row(r)
        for chunk in in_chunks(sorted(loaded))
        for r in session.execute(rules_of.where(_rules.c.sku.in_(chunk)))
        if wanted is None or r.store is None or r.store in wanted
    ]
    naming = _promotion_ids_naming(session, "sku", loaded)
    naming |= _promotion_ids_naming(session, "category", {p.category for p in products})
    # A promotion may name SKUs outside the slice; the slice only needs its own.
    promotions = [
        dataclasses.replace(p, skus=p.skus & loaded) if p.skus - loaded else p
        for p in load_promotions(session, naming).values()
    ]
    return Catalogue(
        products=products,
        stores=_all_stores(session),
        rules=rules,
        promotions=promotions,
        currency=currency,
        promotion_prices_checked=True,  # when written
    )


def load_sku_catalogue(
    session: Session, sku: str, *, currency: str, product_then: Product | None = None
) -> Catalogue:
    """The catalogue of one SKU in a few indexed, precompiled queries (what a quote needs);
    NotFoundError for an unknown SKU. `product_then`: the product as it was at a past
    instant (`products_as_at`), in place of the stored one, its category then bringing
    its promotions."""
    product_row = session.execute(_PRODUCT, {"sku": sku}).first()
    if product_row is None:
        raise NotFoundError("product", sku)
    product = product_then if product_then is not None else product_from_row(product_row)
    rules = [price_rule_from_row(r) for r in session.execute(_RULES, {"sku": sku})]
    params = {"sku": sku, "category": product.category}
    ids = list(session.scalars(_PROMOTIONS_NAMING, params).unique())
    promotions = []
    if ids:
        # The slice holds one SKU: other SKUs a promotion names are left out.
        targets = _targets_by_promotion(
            t
            for t in session.execute(_TARGETS, {"ids": ids})
            if t.dimension != "sku" or t.value == sku
        )
        promotions = [
            promotion_from_rows(row, targets[row.id])
            for row in session.execute(_PROMOTIONS, {"ids": ids})
        ]
    return Catalogue(
        products=[product],
        stores=_all_stores(session),
        rules=rules,
        promotions=promotions,
        currency=currency,
        promotion_prices_checked=True,  # when written
    )


def _promotion_ids_naming(session: Session, dimension: str, values: Collection[str]) -> set[str]:
    ids: set[str] = set()
    for chunk in in_chunks(sorted(values)):
        ids.update(
            session.scalars(
                select(_targets.c.promotion_id).where(
                    _targets.c.dimension == dimension, _targets.c.value.in_(chunk)
                )
            )
        )
    return ids


def _targets_by_promotion(rows: Iterable[Row[Any]]) -> dict[str, list[Row[Any]]]:
    targets: dict[str, list[Row[Any]]] = defaultdict(list)
    for target in rows:
        targets[target.promotion_id].append(target)
    return targets


def _all_stores(session: Session) -> list[Store]:
    """Every store as it is now, with its opening (the prior price of its shelves): one
    read of the stores table, whatever the ledger holds."""
    return [store_from_row(r) for r in session.execute(_STORES)]
