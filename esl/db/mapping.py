"""Explicit conversion between database rows and the pricing engine's frozen values.

`*_from_row(s)` read a row (an ORM object or a Core `Row`) into an engine value;
`*_values` give the row dict of an engine value, for Core inserts and `esl.db.bulk`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy import Row

from esl.db.models import (
    PriceRuleRow,
    ProductRow,
    PromotionRow,
    PromotionTargetRow,
    StoreRow,
)
from pricing.errors import InvalidGtinError
from pricing.gtin import require_valid_gtin
from pricing.ledger import LedgerEntry
from pricing.money import Money
from pricing.products import Channel, NetUnit, Product, Store
from pricing.promotions import Promotion, PromotionKind, unused_terms
from pricing.rules import PriceRule

__all__ = [
    "DIMENSIONS",
    "PriceRuleColumns",
    "ledger_entry_values",
    "price_rule_from_row",
    "price_rule_values",
    "product_from_row",
    "product_values",
    "promotion_from_rows",
    "promotion_target_values",
    "promotion_values",
    "store_from_row",
]

# promotion_targets.dimension -> the Promotion field it fills
DIMENSIONS = ("skus", "categories", "channels", "zones", "stores")
_SINGULAR = {
    "skus": "sku",
    "categories": "category",
    "channels": "channel",
    "zones": "zone",
    "stores": "store",
}
_PLURAL = {v: k for k, v in _SINGULAR.items()}

log = logging.getLogger(__name__)
# (SKU, GTIN) pairs already reported invalid: once per process, not at every catalogue load
_REPORTED_GTINS: set[tuple[str, str]] = set()


def product_from_row(row: ProductRow | Row[Any]) -> Product:
    return Product(
        sku=row.sku,
        name=row.name,
        brand=row.brand,
        gtin=_stored_gtin(row.sku, row.gtin),
        category=row.category,
        vat_rate=row.vat_rate,
        net_content=row.net_content,
        net_unit=NetUnit(row.net_unit),
        perishable=row.perishable,
        on_sale_since=row.on_sale_since,
        web_url=row.web_url,
        unit_price_per_100=row.unit_price_per_100,
        ledger_since=row.ledger_since,
        recorded_since=row.recorded_since,
    )


def product_values(product: Product) -> dict[str, Any]:
    """The `products` row of a domain product."""
    return {
        "sku": product.sku,
        "name": product.name,
        "brand": product.brand,
        "gtin": product.gtin,
        "category": product.category,
        "vat_rate": product.vat_rate,
        "net_content": product.net_content,
        "net_unit": product.net_unit.value,
        "perishable": product.perishable,
        "on_sale_since": product.on_sale_since,
        "web_url": product.web_url,
        "unit_price_per_100": product.unit_price_per_100,
        "ledger_since": product.ledger_since,
        "recorded_since": product.recorded_since,
    }


def _stored_gtin(sku: str, gtin: str | None) -> str:
    """A stored GTIN, or "" (none) when its check digit or length is wrong.

    Imports and the API refuse such a GTIN, but a database written before they did may
    hold one (the old bundled sample did). Refusing the whole product there would stop
    the controller and every quote at each start; a label without a barcode is what the
    shelf can honestly show, and the renderer reports the missing code.
    """
    if not gtin:
        return ""
    try:
        return require_valid_gtin(gtin, sku=sku)
    except InvalidGtinError as error:
        if (sku, gtin) not in _REPORTED_GTINS:
            _REPORTED_GTINS.add((sku, gtin))
            log.warning("%s: stored %s; drawn without a barcode until corrected", sku, error)
        return ""


def store_from_row(row: StoreRow | Row[Any]) -> Store:
    """The store of `row`, with its opening (`stores.opened`; None: always sold)."""
    return Store(
        code=row.code,
        name=row.name,
        zone=row.zone,
        time_zone=row.time_zone,
        opened=row.opened,
        recorded_since=row.recorded_since,
    )


class PriceRuleColumns(Protocol):
    """The columns of a `price_rules` row, as a stored row or a validated import line
    holds them."""

    @property
    def id(self) -> str: ...
    @property
    def sku(self) -> str: ...
    @property
    def amount(self) -> Decimal: ...
    @property
    def currency(self) -> str: ...
    @property
    def channel(self) -> str | None: ...
    @property
    def zone(self) -> str | None: ...
    @property
    def store(self) -> str | None: ...
    @property
    def valid_from(self) -> datetime | None: ...
    @property
    def valid_until(self) -> datetime | None: ...


def price_rule_from_row(row: PriceRuleColumns | PriceRuleRow | Row[Any]) -> PriceRule:
    return PriceRule(
        id=row.id,
        sku=row.sku,
        amount=Money.of(row.amount, row.currency),
        channel=Channel(row.channel) if row.channel else None,
        zone=row.zone,
        store=row.store,
        valid_from=row.valid_from,
        valid_until=row.valid_until,
    )


def price_rule_values(rule: PriceRule, publication_id: int | None) -> dict[str, Any]:
    """The `price_rules` row of a domain rule, written by `publication_id` (None: seeded)."""
    return {
        "id": rule.id,
        "sku": rule.sku,
        "amount": rule.amount.amount,
        "currency": rule.amount.currency,
        "channel": rule.channel.value if rule.channel else None,
        "zone": rule.zone,
        "store": rule.store,
        "valid_from": rule.valid_from,
        "valid_until": rule.valid_until,
        "publication_id": publication_id,
    }


def promotion_from_rows(
    row: PromotionRow | Row[Any], targets: Iterable[PromotionTargetRow | Row[Any]]
) -> Promotion:
    fields: dict[str, set[str]] = {name: set() for name in DIMENSIONS}
    for target in targets:
        fields[_PLURAL[target.dimension]].add(target.value)
    amount = Money.of(row.amount, row.currency) if row.amount is not None and row.currency else None
    kind = PromotionKind(row.kind)
    # One stored before its kind's unused terms were refused loads without them, as the
    # engine always applied it (a quantity on a percent_off never made it conditional);
    # the row keeps them.
    unused = set(unused_terms(kind, row))
    return Promotion(
        id=row.id,
        name=row.name,
        kind=kind,
        skus=frozenset(fields["skus"]),
        categories=frozenset(fields["categories"]),
        channels=frozenset(Channel(c) for c in fields["channels"]),
        zones=frozenset(fields["zones"]),
        stores=frozenset(fields["stores"]),
        valid_from=row.valid_from,
        valid_until=row.valid_until,
        priority=row.priority,
        exclusive=row.exclusive,
        percent=None if "percent" in unused else row.percent,
        amount=None if "amount" in unused else amount,
        quantity=None if "quantity" in unused else row.quantity,
        free_quantity=None if "free_quantity" in unused else row.free_quantity,
    )


def promotion_values(promotion: Promotion, publication_id: int | None) -> dict[str, Any]:
    """The `promotions` row of a domain promotion."""
    return {
        "id": promotion.id,
        "name": promotion.name,
        "kind": promotion.kind.value,
        "percent": promotion.percent,
        "amount": promotion.amount.amount if promotion.amount else None,
        "currency": promotion.amount.currency if promotion.amount else None,
        "quantity": promotion.quantity,
        "free_quantity": promotion.free_quantity,
        "priority": promotion.priority,
        "exclusive": promotion.exclusive,
        "valid_from": promotion.valid_from,
        "valid_until": promotion.valid_until,
        "publication_id": publication_id,
    }


def promotion_target_values(promotion: Promotion) -> list[dict[str, str]]:
    return [
        {"promotion_id": promotion.id, "dimension": _SINGULAR[name], "value": str(value)}
        for name in DIMENSIONS
        for value in sorted(str(v) for v in getattr(promotion, name))
    ]


def ledger_entry_values(
    entry: LedgerEntry, *, source: str, publication_id: int | None, recorded_at: datetime
) -> dict[str, Any]:
    """The `ledger_entries` row of an applied price (no amounts for a withdrawal);
    `source` is publication, import or history."""
    price, regular = entry.price, entry.regular_price
    return {
        "sku": entry.key.sku,
        "channel": entry.key.channel.value,
        "store": entry.key.store,
        "effective_at": entry.effective_from,
        "amount": price.amount if price is not None else None,
        "regular_amount": regular.amount if regular is not None else None,
        "currency": price.currency if price is not None else None,
        "promotion_id": entry.promotion_id,
        "card_amount": entry.card_price.amount if entry.card_price is not None else None,
        "source": source,
        "publication_id": publication_id,
        "recorded_at": recorded_at,
    }
