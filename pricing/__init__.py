"""Pricing engine: pure functions from catalogue, rules and an instant to resolved prices.

Start with `Catalogue` (products, stores, price rules, promotions; validated on build),
`PriceLedger` (applied prices, append-only) and `resolve`. docs/pricing.md explains the
precedence of price scopes, promotion stacking, the Omnibus prior price and rounding.
"""

from pricing.catalogue import Catalogue, CatalogueLineage
from pricing.errors import EslError, PricingError
from pricing.impact import change_impact, next_change_instant
from pricing.ledger import (
    LONGEST_CLOCK_CHANGE,
    PRIOR_PRICE_LOOKBACK,
    LedgerEntry,
    PriceKey,
    PriceLedger,
    PriorPrice,
    PriorPriceBasis,
    card_price_of,
    due_card_prior_price,
    due_prior_price,
    key_on_sale_since,
    omnibus_prior_price,
    reduction_started_at,
)
from pricing.money import Money, UnitMoney, round_to_minor_unit, round_unit_price
from pricing.products import Channel, NetUnit, Product, Store
from pricing.promotions import Promotion, PromotionKind, PromotionSummary
from pricing.replay import all_price_keys, replay_history
from pricing.resolution import resolve, resolve_key, resolve_many, select_rule_and_promotion
from pricing.resolved import ResolvedPrice, label_fingerprint
from pricing.rules import SCOPE_PRECEDENCE, PriceRule, PriceScope
from pricing.unit_price import UnitPrice, unit_price

__all__ = [
    "LONGEST_CLOCK_CHANGE",
    "PRIOR_PRICE_LOOKBACK",
    "SCOPE_PRECEDENCE",
    "Catalogue",
    "CatalogueLineage",
    "Channel",
    "EslError",
    "LedgerEntry",
    "Money",
    "NetUnit",
    "PriceKey",
    "PriceLedger",
    "PriceRule",
    "PriceScope",
    "PricingError",
    "PriorPrice",
    "PriorPriceBasis",
    "Product",
    "Promotion",
    "PromotionKind",
    "PromotionSummary",
    "ResolvedPrice",
    "Store",
    "UnitMoney",
    "UnitPrice",
    "all_price_keys",
    "card_price_of",
    "change_impact",
    "due_card_prior_price",
    "due_prior_price",
    "key_on_sale_since",
    "label_fingerprint",
    "next_change_instant",
    "omnibus_prior_price",
    "reduction_started_at",
    "replay_history",
    "resolve",
    "resolve_key",
    "resolve_many",
    "round_to_minor_unit",
    "round_unit_price",
    "select_rule_and_promotion",
    "unit_price",
]
