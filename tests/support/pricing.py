"""Pricing test vocabulary: a small PLN catalogue, a percent-off sale, one shelf's price.

Most pricing, Omnibus and content tests ask one question, "what does store S1's shelf
show for SKU A at this instant", about a catalogue of one or two products; these build it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from pricing import (
    Catalogue,
    Channel,
    Money,
    PriceLedger,
    PriceRule,
    Product,
    Promotion,
    PromotionKind,
    ResolvedPrice,
    Store,
    resolve,
)
from tests.strategies import pricing_product

__all__ = ["DAIRY_AND_BREAD", "ONE_STORE", "percent_off_sale", "pln_catalogue", "shelf_price"]

ONE_STORE = (Store("S1", "Jeden", None),)
# SKU A (dairy) and SKU B (bread): two categories, so category-wide rules have a boundary.
DAIRY_AND_BREAD = (pricing_product("A"), pricing_product("B", category="bread"))


def pln_catalogue(
    rules: Sequence[PriceRule],
    promotions: Sequence[Promotion] = (),
    *,
    stores: Sequence[Store] = ONE_STORE,
    products: Sequence[Product] = (pricing_product("A"),),
) -> Catalogue:
    """A catalogue priced in złoty: SKU A in store S1 unless told otherwise."""
    return Catalogue(
        products=list(products),
        stores=list(stores),
        rules=list(rules),
        promotions=list(promotions),
        currency="PLN",
    )


def shelf_price(
    catalogue: Catalogue,
    *,
    at: datetime,
    ledger: PriceLedger | None = None,
    sku: str = "A",
    store: str = "S1",
    channel: Channel = Channel.STORE,
    locale: str = "pl_PL",
) -> ResolvedPrice:
    """What `store`'s shelf shows for `sku` at `at` (an empty ledger: no price history)."""
    return resolve(
        catalogue,
        sku=sku,
        channel=channel,
        store=store,
        at=at,
        ledger=PriceLedger() if ledger is None else ledger,
        locale=locale,
    )


def percent_off_sale(
    pid: str,
    percent: int | str | Decimal,
    *,
    valid_from: datetime | None = None,
    valid_until: datetime | None = None,
    name: str | None = None,
    skus: frozenset[str] = frozenset({"A"}),
    **scope: frozenset[Any],
) -> Promotion:
    """A "-N %" promotion on `skus` (SKU A unless told) and any further `scope`
    (categories, channels, zones, stores), open-ended unless given a window."""
    return Promotion(
        id=pid,
        name=pid if name is None else name,
        kind=PromotionKind.PERCENT_OFF,
        skus=skus,
        percent=Decimal(percent),
        valid_from=valid_from,
        valid_until=valid_until,
        **scope,
    )


def fixed_price_sale(
    pid: str,
    amount: Money,
    *,
    valid_from: datetime | None = None,
    valid_until: datetime | None = None,
) -> Promotion:
    """SKU A at `amount` (a fixed-price promotion), open-ended unless given a window."""
    return Promotion(
        id=pid,
        name=pid,
        kind=PromotionKind.FIXED_PRICE,
        skus=frozenset({"A"}),
        amount=amount,
        valid_from=valid_from,
        valid_until=valid_until,
    )
