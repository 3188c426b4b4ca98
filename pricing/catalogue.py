"""The catalogue: products, stores, price rules and promotions, validated once, indexed once.

A `Catalogue` never changes after it is built. `with_changes` returns a new catalogue
that shares everything the changes did not touch and remembers what they touched, so
`change_impact` can work in time proportional to the change.

Indexes built here, used by `pricing.resolution`:
- per SKU and channel, the rules that can apply, most specific scope first;
- promotions per SKU and per category;
- each store's zone, and the stores of each zone.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Callable, Container, Iterable, Mapping, Set
from datetime import UTC, datetime
from decimal import Decimal
from itertools import pairwise
from types import MappingProxyType
from typing import Any, NamedTuple

from pricing.errors import (
    CurrencyMismatchError,
    DuplicateIdError,
    InvalidPromotionError,
    OverlappingWindowError,
    PromotionPriceAboveRegularError,
    PromotionSavesNothingError,
    UnknownReferenceError,
    UnknownSkuError,
    UnknownStoreError,
)
from pricing.money import Money, round_to_minor_unit
from pricing.products import Channel, Product, Store
from pricing.promotions import Promotion, promotional_unit_price
from pricing.resolved import LabelContent
from pricing.rules import SCOPE_PRECEDENCE, PriceRule
from pricing.windows import window_contains, windows_overlap

__all__ = ["Catalogue", "CatalogueLineage", "NamedScopes", "SkuPricing"]

_RANK = {scope: rank for rank, scope in enumerate(SCOPE_PRECEDENCE)}
_CHANNELS = tuple(Channel)
_BEGINNING_OF_TIME = datetime.min.replace(tzinfo=UTC)


def _unique(items: Iterable[Any], *, id_of: str, kind: str) -> dict[str, Any]:
    by_id: dict[str, Any] = {}
    for item in items:
        item_id = getattr(item, id_of)
        if item_id in by_id:
            raise DuplicateIdError(f"two {kind}s with id {item_id!r}", kind=kind, id=item_id)
        by_id[item_id] = item
    return by_id


class SkuPricing:
    """What resolution needs about one SKU, reached with one dictionary lookup.

    Two memos, both filled by `pricing.resolution` and valid as long as this object is
    (a change to the SKU's rules, promotions or product replaces it):
    - `contents`, per label locale and rule id: the label fields of a key that has no
      promotion (per locale, not language: the country decides the unit price);
    - `constant`, per channel (in `Channel` order): those label fields (for one locale,
      which they name) when one rule wins in that channel everywhere and always
      (`always`: no store/zone rule, no window, no SKU promotion), so most keys skip rule
      matching altogether. Category promotions are checked by the resolver, because
      they can change without replacing this object.
    """

    __slots__ = (
        "always",
        "by_channel",
        "category",
        "constant",
        "contents",
        "promotions",
    )

    def __init__(
        self,
        *,
        by_channel: dict[Channel, tuple[PriceRule, ...]],
        promotions: tuple[Promotion, ...],
        category: str,
    ) -> None:
        self.by_channel = by_channel
        self.promotions = promotions
        self.category = category
        self.contents: dict[str, dict[str, LabelContent]] = {}
        self.always: tuple[PriceRule | None, ...] = tuple(
            _always_winning(by_channel[channel], promotions) for channel in _CHANNELS
        )
        self.constant: list[LabelContent | None] = [None] * len(_CHANNELS)


def _always_winning(
    rules: tuple[PriceRule, ...], promotions: tuple[Promotion, ...]
) -> PriceRule | None:
    # Rules are ordered most specific first, so a first rule without store, zone or
    # window means no store or zone rule exists for the channel and this one always wins.
    if promotions or not rules:
        return None
    first = rules[0]
    if first.store is None and first.zone is None and first.valid_from is None:
        return first if first.valid_until is None else None
    return None


class ResolutionView:
    """The catalogue's indexes that `pricing.resolution` reads for every key, as attributes
    rather than method calls: the hot path of a resolution is a few dictionary lookups, and
    a call per lookup would cost a fifth of its time. Read-only; a new catalogue gets a new
    view."""

    __slots__ = ("category_promotions", "pricing", "store_zones")

    def __init__(
        self,
        *,
        store_zones: Mapping[str, str | None],
        pricing: Mapping[str, SkuPricing],
        category_promotions: Mapping[str, tuple[Promotion, ...]],
    ) -> None:
        self.store_zones = store_zones
        self.pricing = pricing
        self.category_promotions = category_promotions


class NamedScopes(NamedTuple):
    """What `Catalogue.named_scopes` answers for one SKU."""

    channels: Set[Channel]
    stores: Set[str]
    zones: Set[str]


class CatalogueLineage:
    """What `Catalogue.with_changes` touched, relative to the catalogue it started from."""

    __slots__ = ("base_token", "categories", "promotion_ids", "skus")

    def __init__(
        self,
        *,
        base_token: object,
        skus: frozenset[str],
        categories: frozenset[str],
        promotion_ids: frozenset[str],
    ) -> None:
        self.base_token = base_token
        self.skus = skus
        self.categories = categories
        self.promotion_ids = promotion_ids


class Catalogue:
    """Immutable, validated products, stores, price rules and promotions.

    Raises on build: duplicate ids, references to unknown SKUs/stores/zones, two rules in
    one scope with overlapping windows, mixed currencies, and promotions that would put
    a price above the regular price (or below zero), or a conditional offer at it, for
    any rule they can meet (not checked again for a catalogue read from the store of
    record: `__init__`).
    """

    __slots__ = (
        "_boundaries",
        "_lineage",
        "_pricing",
        "_products",
        "_promotion_prices_checked",
        "_promotions",
        "_promotions_by_category",
        "_promotions_by_sku",
        "_rules",
        "_rules_by_sku",
        "_rules_by_sku_channel",
        "_skus_by_category",
        "_store_zone",
        "_stores",
        "_stores_by_zone",
        "_token",
        "currency",
        "resolution_view",
    )

    def __init__(
        self,
        *,
        products: Iterable[Product],
        stores: Iterable[Store],
        rules: Iterable[PriceRule],
        promotions: Iterable[Promotion] = (),
        currency: str,
        promotion_prices_checked: bool = False,
    ) -> None:
        """`promotion_prices_checked`: the promotions were checked against the rules they
        can meet when they were written (a catalogue read from the store of record), and
        are not checked again. One written under an older, looser check (a multi-buy whose
        unit rounded to the regular price) still loads, so the chain keeps working; a
        change (`with_changes`, `check_promotions_met_anew` after a price file or a move)
        checks each promotion against the rules it makes it meet, not those it met."""
        self.currency = currency
        self._promotion_prices_checked = promotion_prices_checked
        Money.zero(currency)  # refuses an unknown currency early
        self._token = object()
        self._lineage: CatalogueLineage | None = None
        self._boundaries: tuple[datetime, ...] | None = None
        self._index_stores(_unique(stores, id_of="code", kind="store"))
        self._products: dict[str, Product] = _unique(products, id_of="sku", kind="product")
        self._skus_by_category: dict[str, set[str]] = defaultdict(set)
        for sku, product in self._products.items():
            self._skus_by_category[product.category].add(sku)

        self._rules: dict[str, PriceRule] = _unique(rules, id_of="id", kind="price rule")
        grouped: dict[str, list[PriceRule]] = defaultdict(list)
        for rule in self._rules.values():
            self._check_rule_references(rule)
            grouped[rule.sku].append(rule)
        self._rules_by_sku: dict[str, tuple[PriceRule, ...]] = {}
        self._rules_by_sku_channel: dict[str, dict[Channel, tuple[PriceRule, ...]]] = {}
        for sku, sku_rules in grouped.items():
            self._index_sku_rules(sku, sku_rules)

        self._promotions: dict[str, Promotion] = _unique(promotions, id_of="id", kind="promotion")
        by_sku: dict[str, list[Promotion]] = defaultdict(list)
        by_category: dict[str, list[Promotion]] = defaultdict(list)
        for promotion in self._promotions.values():
            self._check_promotion(promotion)
            for sku in promotion.skus:
                by_sku[sku].append(promotion)
            for category in promotion.categories:
                by_category[category].append(promotion)
        self._promotions_by_sku = {k: tuple(v) for k, v in by_sku.items()}
        self._promotions_by_category = {k: tuple(v) for k, v in by_category.items()}
        self._pricing: dict[str, SkuPricing] = {}
        self._refresh_pricing(self._products)
        self.resolution_view = self._resolution_view()

    def _index_stores(self, stores: dict[str, Store]) -> None:
        self._stores = stores
        self._store_zone = {code: store.zone for code, store in stores.items()}
        stores_by_zone: dict[str | None, list[str]] = defaultdict(list)
        for code, zone in self._store_zone.items():
            stores_by_zone[zone].append(code)
        self._stores_by_zone = {zone: tuple(codes) for zone, codes in stores_by_zone.items()}

    def _resolution_view(self) -> ResolutionView:
        # Made once the indexes are final: the view holds the same dictionaries.
        return ResolutionView(
            store_zones=self._store_zone,
            pricing=self._pricing,
            category_promotions=self._promotions_by_category,
        )

    def _refresh_pricing(self, skus: Iterable[str]) -> None:
        for sku in skus:
            by_channel = self._rules_by_sku_channel.get(sku)
            product = self._products.get(sku)
            if by_channel is None or product is None:
                self._pricing.pop(sku, None)
                continue
            self._pricing[sku] = SkuPricing(
                by_channel=by_channel,
                promotions=self._promotions_by_sku.get(sku, ()),
                category=product.category,
            )

    # -- read-only views ---------------------------------------------------------------

    @property
    def products(self) -> Mapping[str, Product]:
        return MappingProxyType(self._products)

    @property
    def stores(self) -> Mapping[str, Store]:
        return MappingProxyType(self._stores)

    @property
    def rules(self) -> Mapping[str, PriceRule]:
        return MappingProxyType(self._rules)

    @property
    def promotions(self) -> Mapping[str, Promotion]:
        return MappingProxyType(self._promotions)

    @property
    def zones(self) -> frozenset[str]:
        return frozenset(zone for zone in self._stores_by_zone if zone is not None)

    @property
    def lineage(self) -> CatalogueLineage | None:
        """Set on catalogues made by `with_changes`; None on ones built from scratch."""
        return self._lineage

    @property
    def token(self) -> object:
        """Identity of this catalogue version, for lineage checks."""
        return self._token

    def product(self, sku: str) -> Product:
        try:
            return self._products[sku]
        except KeyError:
            raise UnknownSkuError(f"unknown SKU {sku!r}", kind="sku", id=sku) from None

    def store(self, code: str) -> Store:
        try:
            return self._stores[code]
        except KeyError:
            raise UnknownStoreError(f"unknown store {code!r}", kind="store", id=code) from None

    def rules_for(self, sku: str) -> tuple[PriceRule, ...]:
        """Every rule of `sku`, most specific scope first."""
        return self._rules_by_sku.get(sku, ())

    def rules_for_channel(self, sku: str, channel: Channel) -> tuple[PriceRule, ...]:
        """The rules of `sku` that can apply in `channel`, most specific scope first."""
        by_channel = self._rules_by_sku_channel.get(sku)
        return by_channel[channel] if by_channel is not None else ()

    def promotions_for(self, sku: str) -> tuple[Promotion, ...]:
        """Promotions naming `sku` or its category (whatever their scope or window)."""
        product = self._products.get(sku)
        by_category = (
            self._promotions_by_category.get(product.category, ()) if product is not None else ()
        )
        return self._promotions_by_sku.get(sku, ()) + by_category

    def named_scopes(self, sku: str) -> NamedScopes:
        """The channels, stores and zones some rule or promotion of `sku` names. One that
        none names is reached only by unscoped rules and promotions, so it resolves like
        every other unnamed one: callers price such places once, as a class."""
        channels: set[Channel] = set()
        stores: set[str] = set()
        zones: set[str] = set()
        for rule in self.rules_for(sku):
            if rule.channel is not None:
                channels.add(rule.channel)
            if rule.store is not None:
                stores.add(rule.store)
            if rule.zone is not None:
                zones.add(rule.zone)
        for promotion in self.promotions_for(sku):
            channels |= promotion.channels
            stores |= promotion.stores
            zones |= promotion.zones
        return NamedScopes(channels, stores, zones)

    def skus_in_category(self, category: str) -> frozenset[str]:
        return frozenset(self._skus_by_category.get(category, ()))

    def store_zone(self, code: str) -> str | None:
        try:
            return self._store_zone[code]
        except KeyError:
            raise UnknownStoreError(f"unknown store {code!r}", kind="store", id=code) from None

    def stores_in_zone(self, zone: str | None) -> tuple[str, ...]:
        return self._stores_by_zone.get(zone, ())

    def boundaries(self) -> tuple[datetime, ...]:
        """Every instant at which a rule or promotion starts or ends, sorted."""
        if self._boundaries is None:
            instants: set[datetime] = set()
            items: list[PriceRule | Promotion] = [*self._rules.values()]
            items += self._promotions.values()
            for item in items:
                if item.valid_from is not None:
                    instants.add(item.valid_from)
                if item.valid_until is not None:
                    instants.add(item.valid_until)
            self._boundaries = tuple(sorted(instants))
        return self._boundaries

    # -- validation and indexing -------------------------------------------------------

    def _check_names(
        self,
        owner: str,
        owner_id: str,
        *,
        skus: Iterable[str],
        stores: Iterable[str],
        zones: Iterable[str],
    ) -> None:
        """Refuse a rule or promotion (`owner`) naming a SKU, store or zone not in the catalogue."""
        checks: tuple[
            tuple[Iterable[str], Container[str | None], type[UnknownReferenceError], str, str], ...
        ] = (
            (skus, self._products, UnknownSkuError, "sku", "unknown SKU {!r}"),
            (stores, self._stores, UnknownStoreError, "store", "unknown store {!r}"),
            (
                zones,
                self._stores_by_zone,
                UnknownReferenceError,
                "zone",
                "zone {!r}, which has no store",
            ),
        )
        for names, known, error, kind, what in checks:
            for name in names:
                if name not in known:
                    raise error(
                        f"{owner} {owner_id} names {what.format(name)}",
                        kind=kind,
                        id=name,
                        referenced_by=owner_id,
                    )

    def _check_rule_references(self, rule: PriceRule) -> None:
        self._check_names(
            "price rule",
            rule.id,
            skus=(rule.sku,),
            stores=() if rule.store is None else (rule.store,),
            zones=() if rule.zone is None else (rule.zone,),
        )
        if rule.amount.currency != self.currency:
            raise CurrencyMismatchError(
                f"price rule {rule.id} is in {rule.amount.currency}, the catalogue in "
                f"{self.currency}",
                left=self.currency,
                right=rule.amount.currency,
                rule_id=rule.id,
            )

    def _index_sku_rules(self, sku: str, sku_rules: list[PriceRule]) -> None:
        """Check one SKU's rules for overlaps and index them by channel."""
        by_scope: dict[tuple[object, ...], list[PriceRule]] = defaultdict(list)
        for rule in sku_rules:
            by_scope[rule.scope_key].append(rule)
        for same_scope in by_scope.values():
            if len(same_scope) > 1:
                _refuse_overlaps(same_scope)
        ordered = tuple(sorted(sku_rules, key=lambda r: (_RANK[r.scope], r.id)))
        self._rules_by_sku[sku] = ordered
        self._rules_by_sku_channel[sku] = {
            channel: tuple(r for r in ordered if r.channel is None or r.channel == channel)
            for channel in _CHANNELS
        }

    def _check_promotion(self, promotion: Promotion, *, before: Catalogue | None = None) -> None:
        """Refuse `promotion` naming what this catalogue lacks, in another currency, or
        selling above (or below zero against) a rule it can meet, or offering a
        conditional deal at its price; with `before` (the
        catalogue a change starts from), the rules it met there at the same prices are not
        checked again: a promotion ended earlier or shortened meets no rule it did not
        meet, and is taken though its terms were taken under an older, looser check."""
        self._check_names(
            "promotion",
            promotion.id,
            skus=promotion.skus,
            stores=promotion.stores,
            zones=promotion.zones,
        )
        if promotion.amount is not None and promotion.amount.currency != self.currency:
            raise CurrencyMismatchError(
                f"promotion {promotion.id} is in {promotion.amount.currency}, the catalogue "
                f"in {self.currency}",
                left=self.currency,
                right=promotion.amount.currency,
                promotion_id=promotion.id,
            )
        if self._promotion_prices_checked:
            return
        for sku in self._target_skus(promotion):
            for rule in self._rules_by_sku.get(sku, ()):
                if before is None or not before._met_at_the_same_prices(promotion, rule):
                    self._check_promotion_against_rule(promotion, rule)

    def _target_skus(self, promotion: Promotion) -> set[str]:
        targets = set(promotion.skus)
        for category in promotion.categories:
            targets |= self._skus_by_category.get(category, set())
        return targets

    def _can_meet(self, promotion: Promotion, rule: PriceRule) -> bool:
        """Whether `rule` is the regular price at some key and instant `promotion` applies
        to: they meet in channel, window and store scope, and at some such key and instant
        no more specific rule in force shadows it (a web-only promotion never meets the
        base price where a web price always beats it)."""
        if not self._scopes_meet(promotion, rule):
            return False
        rank = _RANK[rule.scope]
        shadows = [
            other
            for other in self._rules_by_sku.get(rule.sku, ())
            if _RANK[other.scope] < rank and self._scopes_meet(promotion, other)
        ]
        if not shadows:
            return True
        channels = [
            channel
            for channel in promotion.channels or _CHANNELS
            if rule.channel is None or rule.channel == channel
        ]
        instants = _span_starts(promotion, rule, shadows)
        for store, zone in self._places_met(promotion, rule, shadows):
            for channel in channels:
                for at in instants:
                    if not any(_wins_over(other, channel, store, zone, at) for other in shadows):
                        return True
        return False

    def _scopes_meet(self, promotion: Promotion, rule: PriceRule) -> bool:
        """Whether `promotion` and `rule` share a channel, some instant and some store
        (whatever other rules say)."""
        if (
            promotion.channels
            and rule.channel is not None
            and rule.channel not in promotion.channels
        ):
            return False
        if not windows_overlap(
            promotion.valid_from, promotion.valid_until, rule.valid_from, rule.valid_until
        ):
            return False
        if not promotion.stores and not promotion.zones:
            return True
        if rule.store is not None:
            return promotion.applies_to_store(rule.store, self._store_zone[rule.store])
        if rule.zone is not None:
            return rule.zone in promotion.zones or any(
                self._store_zone[store] == rule.zone for store in promotion.stores
            )
        return True

    def _met_at_the_same_prices(self, promotion: Promotion, rule: PriceRule) -> bool:
        """Whether this catalogue (the one a change or a move starts from) already held
        `promotion` meeting `rule` at the same prices: both stored under their ids, the
        rule at the same amount, the promotion reaching its SKU, able to meet it and
        selling at the same unit price against it. Such a pair was checked when written,
        under the check of its day, and is not checked again."""
        then_promotion = self._promotions.get(promotion.id)
        then_rule = self._rules.get(rule.id)
        if then_promotion is None or then_rule is None or then_rule.amount != rule.amount:
            return False
        product = self._products.get(rule.sku)
        reached = rule.sku in then_promotion.skus or (
            product is not None and product.category in then_promotion.categories
        )
        return (
            reached
            and self._can_meet(then_promotion, then_rule)
            and promotional_unit_price(then_promotion, regular=then_rule.amount)
            == promotional_unit_price(promotion, regular=rule.amount)
        )

    def check_promotions_met_anew(
        self, before: Catalogue, *, since: datetime | None = None
    ) -> None:
        """Check each promotion against the rules it can meet here and did not meet in
        `before` (this catalogue before a change: a price file's rules, a store in another
        zone, a product in another category) at the same prices, refusing as building
        would. A pair `before` held is not checked again: one stored under an older,
        looser check still loads and is left as it is, and only a promotion meeting a rule
        it never met is refused. `since`: the instant of the change; a promotion is
        checked over what is left of it then (one that ended sells nothing in a store
        opened or moved after it)."""
        for stored in self._promotions.values():
            promotion = _from_instant(stored, since)
            if promotion is None:
                continue
            for sku in self._target_skus(promotion):
                for rule in self._rules_by_sku.get(sku, ()):
                    if self._can_meet(promotion, rule) and not before._met_at_the_same_prices(
                        promotion, rule
                    ):
                        self._check_promotion_against_rule(promotion, rule)

    def _places_met(
        self, promotion: Promotion, rule: PriceRule, shadows: list[PriceRule]
    ) -> set[tuple[str | None, str | None]]:
        """One (store, zone) for each class of stores that `promotion` reaches, `rule`
        matches and `shadows` treat alike: each store a shadow names, and per zone the
        stores none names (store None); zones no shadow names are one class (zone None)."""
        if rule.store is not None:
            return {(rule.store, self._store_zone[rule.store])}
        named_stores = {other.store for other in shadows if other.store is not None}
        named_zones = {other.zone for other in shadows if other.zone is not None}
        unscoped = not promotion.stores and not promotion.zones
        if rule.zone is not None:
            zones: Iterable[str | None] = (rule.zone,)
        elif unscoped:
            zones = self._stores_by_zone
        else:
            zones = set(promotion.zones) | {self._store_zone[s] for s in promotion.stores}
        places: set[tuple[str | None, str | None]] = set()
        for zone in zones:
            if unscoped or zone in promotion.zones:
                named = {s for s in named_stores if self._store_zone[s] == zone}
                unnamed_reached = len(self._stores_by_zone.get(zone, ())) > len(named)
            else:
                reached = {s for s in promotion.stores if self._store_zone[s] == zone}
                named = reached & named_stores
                unnamed_reached = len(reached) > len(named)
            places |= {(store, zone) for store in named}
            if unnamed_reached:
                # A zone no shadow names is priced like having none.
                places.add((None, zone if zone in named_zones else None))
        return places

    def _check_promotion_against_rule(self, promotion: Promotion, rule: PriceRule) -> None:
        if not self._can_meet(promotion, rule):
            return
        unit = promotional_unit_price(promotion, regular=rule.amount)
        if unit < 0:
            raise InvalidPromotionError(
                f"promotion {promotion.id} takes more off than rule {rule.id}'s price "
                f"{rule.amount}",
                promotion_id=promotion.id,
                field="amount",
                reason="reduction exceeds the regular price",
                sku=rule.sku,
                rule_id=rule.id,
            )
        # Unrounded: "3 for 10.00" on a 3.33 item is 3.3333 a unit, dearer than three
        # singles (9.99), though it rounds to 3.33.
        if unit > rule.amount.amount:
            rounded = round_to_minor_unit(unit, currency=self.currency)
            shown = rounded if rounded == unit else unit.quantize(Decimal("0.0001"))
            raise PromotionPriceAboveRegularError(
                f"promotion {promotion.id} would sell {rule.sku} at {shown} a unit, above "
                f"rule {rule.id}'s regular {rule.amount}",
                promotion_id=promotion.id,
                sku=rule.sku,
                rule_id=rule.id,
                promotion_price=str(shown),
                regular_price=str(rule.amount.amount),
            )
        # A conditional offer leaves the shelf price as it is and is drawn as a badge:
        # "2 za 6 zł" on a 3 zł item or "Z kartą 3,00 zł" at 3 zł announces a saving
        # there is not. Where it meets such a rule it is refused, as it is above one.
        # (A shelf-price kind at the regular price is simply not announced: Omnibus.)
        if not promotion.changes_shelf_price and unit == rule.amount.amount:
            raise PromotionSavesNothingError(
                f"promotion {promotion.id} saves nothing on {rule.sku}: its offer is "
                f"{rule.amount} a unit, as is rule {rule.id}'s regular price; an offer "
                "must cost less than the regular price",
                promotion_id=promotion.id,
                sku=rule.sku,
                rule_id=rule.id,
                promotion_price=str(rule.amount.amount),
                regular_price=str(rule.amount.amount),
            )

    # -- changes -----------------------------------------------------------------------

    def with_changes(
        self,
        *,
        rules: Iterable[PriceRule] = (),
        removed_rule_ids: Iterable[str] = (),
        promotions: Iterable[Promotion] = (),
        removed_promotion_ids: Iterable[str] = (),
        products: Iterable[Product] = (),
    ) -> Catalogue:
        """A new catalogue with rules/promotions/products added or replaced (by id) or removed.

        Work is proportional to what changed (plus copying the top-level maps); the
        result remembers what it touched for `change_impact`.
        """
        new = Catalogue.__new__(Catalogue)
        new.currency = self.currency
        new._promotion_prices_checked = False  # a change is checked
        new._token = object()
        new._boundaries = None
        new._stores = self._stores
        new._store_zone = self._store_zone
        new._stores_by_zone = self._stores_by_zone
        new._products = dict(self._products)
        new._skus_by_category = self._skus_by_category
        new._rules = dict(self._rules)
        new._rules_by_sku = dict(self._rules_by_sku)
        new._rules_by_sku_channel = dict(self._rules_by_sku_channel)
        new._promotions = dict(self._promotions)
        new._promotions_by_sku = self._promotions_by_sku
        new._promotions_by_category = self._promotions_by_category
        new._pricing = dict(self._pricing)

        touched_skus: set[str] = set()
        touched_categories: set[str] = set()
        touched_promotions: set[str] = set()

        changed_products = _unique(products, id_of="sku", kind="product")
        if changed_products:
            new._skus_by_category = {k: set(v) for k, v in self._skus_by_category.items()}
            new._skus_by_category = defaultdict(set, new._skus_by_category)
            for sku, product in changed_products.items():
                old = self._products.get(sku)
                if old is not None:
                    new._skus_by_category[old.category].discard(sku)
                new._skus_by_category[product.category].add(sku)
                new._products[sku] = product
                touched_skus.add(sku)

        for rule_id in removed_rule_ids:
            old_rule = new._rules.pop(rule_id, None)
            if old_rule is None:
                raise UnknownReferenceError(
                    f"no price rule {rule_id!r} to remove", kind="price rule", id=rule_id
                )
            touched_skus.add(old_rule.sku)
        added_rules = _unique(rules, id_of="id", kind="price rule")
        for rule in added_rules.values():
            new._check_rule_references(rule)
            replaced = new._rules.get(rule.id)
            if replaced is not None:
                touched_skus.add(replaced.sku)
            new._rules[rule.id] = rule
            touched_skus.add(rule.sku)
        for sku in touched_skus:
            kept = [r for r in self._rules_by_sku.get(sku, ()) if new._rules.get(r.id) is r]
            kept += [r for r in added_rules.values() if r.sku == sku]
            if kept:
                new._index_sku_rules(sku, kept)
            else:
                new._rules_by_sku.pop(sku, None)
                new._rules_by_sku_channel.pop(sku, None)
        priced_skus = set(touched_skus)

        removed = set(removed_promotion_ids)
        added = _unique(promotions, id_of="id", kind="promotion")
        for promotion_id in removed | set(added):
            old_promotion = self._promotions.get(promotion_id)
            if old_promotion is None and promotion_id in removed:
                raise UnknownReferenceError(
                    f"no promotion {promotion_id!r} to remove", kind="promotion", id=promotion_id
                )
            if old_promotion is not None:
                del new._promotions[promotion_id]
                touched_promotions.add(promotion_id)
                touched_skus |= old_promotion.skus
                touched_categories |= old_promotion.categories
        for promotion in added.values():
            new._check_promotion(promotion, before=self)
            new._promotions[promotion.id] = promotion
            touched_promotions.add(promotion.id)
            touched_skus |= promotion.skus
            touched_categories |= promotion.categories
        if touched_promotions:
            new._promotions_by_sku = dict(self._promotions_by_sku)
            new._promotions_by_category = dict(self._promotions_by_category)
            _reindex_promotions(new, touched_skus, touched_categories, touched_promotions)
        # A changed rule or product can put an existing promotion above the price: it is
        # checked against the rules it meets anew (added, at another amount, or reaching it
        # through a new category), not against those it met as they stand.
        for sku in priced_skus:
            for promotion in new.promotions_for(sku):
                if promotion.id not in added:
                    for rule in new._rules_by_sku.get(sku, ()):
                        if not self._met_at_the_same_prices(promotion, rule):
                            new._check_promotion_against_rule(promotion, rule)

        new._refresh_pricing(touched_skus)
        new._lineage = CatalogueLineage(
            base_token=self._token,
            skus=frozenset(touched_skus),
            categories=frozenset(touched_categories),
            promotion_ids=frozenset(touched_promotions),
        )
        new.resolution_view = new._resolution_view()
        return new

    def _unlinked_copy(self) -> Catalogue:
        """A copy sharing every map of this catalogue, under a token of its own and with no
        lineage (`change_impact` compares it with another SKU by SKU): where `with_stores`,
        `without_stores` and `with_products` start before replacing the maps they change."""
        new = Catalogue.__new__(Catalogue)
        for slot in Catalogue.__slots__:
            setattr(new, slot, getattr(self, slot))
        new._token = object()
        new._lineage = None
        return new

    def with_stores(self, stores: Iterable[Store]) -> Catalogue:
        """The same products, rules and promotions with `stores` in place of this
        catalogue's (by code; the others kept): the stores as they were at a past instant,
        their zones then pricing them as then.

        Rules and promotions are not checked again: they were checked against the stores
        of record, and one naming a zone that had no store then simply applied nowhere."""
        replaced = _unique(stores, id_of="code", kind="store")
        for code in replaced:
            if code not in self._stores:
                raise UnknownStoreError(f"unknown store {code!r}", kind="store", id=code)
        new = self._unlinked_copy()
        new._index_stores({**self._stores, **replaced})
        new.resolution_view = new._resolution_view()
        return new

    def without_stores(self, codes: Iterable[str]) -> Catalogue:
        """The same products, rules and promotions without the stores `codes`: the
        catalogue as it was before they opened, the promotions reaching only the stores it
        had then (`check_promotions_met_anew` compares the two).

        UnknownStoreError for a code this catalogue lacks, or one a rule or promotion
        names: without it, that rule or promotion would name a store it lacks."""
        removed = set(codes)
        for code in sorted(removed - self._stores.keys()):
            raise UnknownStoreError(f"unknown store {code!r}", kind="store", id=code)
        if not removed:
            return self
        naming = [("rule", r.id, r.store) for r in self._rules.values() if r.store in removed]
        naming += [
            ("promotion", p.id, code)
            for p in self._promotions.values()
            for code in sorted(p.stores & removed)
        ]
        for owner, owner_id, code in naming:
            raise UnknownStoreError(
                f"{owner} {owner_id} names store {code!r}, which the catalogue would lack",
                kind="store",
                id=str(code),
                referenced_by=owner_id,
            )
        new = self._unlinked_copy()
        new._index_stores({code: s for code, s in self._stores.items() if code not in removed})
        new.resolution_view = new._resolution_view()
        return new

    def with_products(self, products: Iterable[Product]) -> Catalogue:
        """The same stores, rules and promotions with `products` in place of this
        catalogue's (by SKU; the others kept): the products as they were before a move to
        another category, their categories' promotions reaching them as then.

        Rules and promotions are not checked again (`check_promotions_met_anew` compares
        the two)."""
        replaced = _unique(products, id_of="sku", kind="product")
        for sku in replaced:
            if sku not in self._products:
                raise UnknownSkuError(f"unknown SKU {sku!r}", kind="sku", id=sku)
        new = self._unlinked_copy()
        new._products = {**self._products, **replaced}
        new._skus_by_category = defaultdict(
            set, {category: set(skus) for category, skus in self._skus_by_category.items()}
        )
        for sku, product in replaced.items():
            new._skus_by_category[self._products[sku].category].discard(sku)
            new._skus_by_category[product.category].add(sku)
        new._pricing = dict(self._pricing)
        new._refresh_pricing(replaced)
        new.resolution_view = new._resolution_view()
        return new


def _reindex_promotions(
    catalogue: Catalogue,
    skus: set[str],
    categories: set[str],
    promotion_ids: set[str],
) -> None:
    promotions = catalogue._promotions
    _reindex(catalogue._promotions_by_sku, skus, promotion_ids, promotions, lambda p: p.skus)
    _reindex(
        catalogue._promotions_by_category,
        categories,
        promotion_ids,
        promotions,
        lambda p: p.categories,
    )


def _reindex(
    index: dict[str, tuple[Promotion, ...]],
    names: set[str],
    promotion_ids: set[str],
    promotions: Mapping[str, Promotion],
    targets: Callable[[Promotion], frozenset[str]],
) -> None:
    """Bring `index` (promotions by SKU or by category) up to date for `names` after the
    promotions `promotion_ids` changed: the others keep their place, the changed ones
    still in `promotions` follow them where `targets` names the key."""
    # Grouped by key in one pass: asking every changed promotion about every key was
    # keys x promotions (a file of 5,000 category promotions: 1,000,000 a catalogue slice).
    changed: dict[str, list[Promotion]] = {}
    for pid in promotion_ids:
        if (p := promotions.get(pid)) is not None:
            for name in targets(p) & names:
                changed.setdefault(name, []).append(p)
    for name in names:
        kept = [p for p in index.get(name, ()) if p.id not in promotion_ids]
        kept += changed.get(name, ())
        if kept:
            index[name] = tuple(kept)
        else:
            index.pop(name, None)


def _span_starts(promotion: Promotion, rule: PriceRule, shadows: list[PriceRule]) -> list[datetime]:
    """An instant in each span of the window `promotion` and `rule` share over which no
    rule of `shadows` starts or ends: which of them is in force changes only there."""
    starts = [_BEGINNING_OF_TIME]
    for edge in (promotion.valid_from, rule.valid_from):
        if edge is not None:
            starts[0] = max(starts[0], edge)
    end = min(
        (edge for edge in (promotion.valid_until, rule.valid_until) if edge is not None),
        default=None,
    )
    for other in shadows:
        for edge in (other.valid_from, other.valid_until):
            if edge is not None and starts[0] < edge and (end is None or edge < end):
                starts.append(edge)
    return starts


def _wins_over(
    other: PriceRule, channel: Channel, store: str | None, zone: str | None, at: datetime
) -> bool:
    """Whether `other` (more specific) is the regular price in `channel` at `store` (None:
    one no rule names) in `zone` at `at`, rather than the rule it shadows."""
    return (
        (other.channel is None or other.channel == channel)
        and (other.store is None or other.store == store)
        and (other.zone is None or other.zone == zone)
        and window_contains(other.valid_from, other.valid_until, at)
    )


def _refuse_overlaps(same_scope: list[PriceRule]) -> None:
    ordered = sorted(
        same_scope,
        key=lambda r: (r.valid_from or _BEGINNING_OF_TIME, r.id),
    )
    for earlier, later in pairwise(ordered):
        if windows_overlap(
            earlier.valid_from, earlier.valid_until, later.valid_from, later.valid_until
        ):
            raise OverlappingWindowError(
                f"two {later.sku} prices overlap in one scope ({_scope_text(later)}): "
                f"{earlier.amount} valid {_window_text(earlier)} and {later.amount} valid "
                f"{_window_text(later)}",
                rule_id=later.id,
                other_rule_id=earlier.id,
                sku=later.sku,
                scope=str(later.scope),
            )


def _scope_text(rule: PriceRule) -> str:
    """A rule's scope as the person who priced it names it (not its internal id)."""
    where = (
        f"store {rule.store}"
        if rule.store is not None
        else f"zone {rule.zone}"
        if rule.zone is not None
        else "national"
    )
    return f"{where}, channel {rule.channel.value}" if rule.channel is not None else where


def _window_text(rule: PriceRule) -> str:
    since = rule.valid_from.isoformat() if rule.valid_from else "from the beginning"
    until = rule.valid_until.isoformat() if rule.valid_until else "until further notice"
    return f"{since} – {until}"


def _from_instant(promotion: Promotion, since: datetime | None) -> Promotion | None:
    """What is left of `promotion` from `since` on (all of it when None); None when it
    ended by then."""
    if since is None or (promotion.valid_from is not None and promotion.valid_from >= since):
        return promotion
    if promotion.valid_until is not None and promotion.valid_until <= since:
        return None
    return dataclasses.replace(promotion, valid_from=since)
