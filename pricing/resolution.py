"""Resolution: the price of one (SKU, channel, store) at one instant, with its label fields.

Steps, each written once:
1. the regular price: the first rule, in `SCOPE_PRECEDENCE` order, whose scope matches
   the channel and store and whose window contains the instant;
2. the promotion: among those that target the SKU (or its category), match channel and
   store and are valid at the instant, exclusive ones (highest priority) shut out the
   rest; then the lowest effective unit price for the customer wins, ties going to
   promotions without conditions, then higher priority, then the smaller id;
3. for a reduction of the shelf price, the Omnibus prior price from the ledger and the
   saving computed against it; for a loyalty-card price, a reduction for the card's
   members, the lowest price card holders paid before it (`due_card_prior_price`);
4. the unit price of the payable price, and a fingerprint of everything a label shows.

Keys without a promotion (most of them) take a fast path: their label fields depend only
on the winning rule, so they are computed once per rule and reused, and where one rule
wins in a channel everywhere and always they are memoised per SKU and channel
(`SkuPricing.constant`), so `resolve` skips steps 1-4 entirely.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import ROUND_DOWN, Decimal
from typing import Any, Final, NamedTuple

from pricing.catalogue import Catalogue, SkuPricing
from pricing.errors import (
    NaiveDatetimeError,
    NoApplicablePriceError,
    UnknownReferenceError,
    UnknownStoreError,
)
from pricing.label_text import label_language
from pricing.ledger import (
    PriceKey,
    PriceLedger,
    PriorPriceBasis,
    due_card_prior_price,
    due_prior_price,
)
from pricing.money import Money, UnitMoney
from pricing.products import Channel
from pricing.promotions import (
    Promotion,
    PromotionKind,
    PromotionSummary,
    announced_reduction_text,
    promotion_text,
    promotional_unit_price,
)
from pricing.resolved import LabelContent, ResolvedPrice, label_fingerprint
from pricing.rules import PriceRule
from pricing.unit_price import unit_price
from pricing.windows import in_utc

__all__ = ["resolve", "resolve_key", "resolve_many", "select_rule_and_promotion"]

_HUNDRED: Final = Decimal(100)
_WHOLE_PERCENT: Final = Decimal(1)
_languages: dict[str, str] = {}
_CHANNEL_INDEX: Final = {channel: index for index, channel in enumerate(Channel)}

# ResolvedPrice is frozen; its generated __init__ sets each of 17 fields through
# object.__setattr__, which alone would cost half the time budget of a resolution.
# Setting the slots through their descriptors builds the same object twice as fast.
_new = object.__new__


def _slot_setter(name: str) -> Any:
    """The descriptor's `__set__` of `ResolvedPrice`'s field `name` (KeyError: no such field)."""
    return ResolvedPrice.__dict__[name].__set__


_set_sku = _slot_setter("sku")
_set_channel = _slot_setter("channel")
_set_store = _slot_setter("store")
_set_at = _slot_setter("at")
_set_currency = _slot_setter("currency")
_set_regular = _slot_setter("regular_price")
_set_price = _slot_setter("price")
_set_promotion = _slot_setter("promotion")
_set_prior = _slot_setter("prior_price")
_set_prior_basis = _slot_setter("prior_price_basis")
_set_saving = _slot_setter("saving")
_set_saving_percent = _slot_setter("saving_percent")
_set_unit_price = _slot_setter("unit_price")
_set_unit_label = _slot_setter("unit_label")
_set_rule_id = _slot_setter("price_rule_id")
_set_scope = _slot_setter("price_scope")
_set_fingerprint = _slot_setter("fingerprint")


def _language(locale: str) -> str:
    language = _languages.get(locale)
    if language is None:
        language = _languages[locale] = label_language(locale)
    return language


def _channel(channel: Channel | str) -> Channel:
    if type(channel) is Channel:
        return channel
    try:
        return Channel(channel)
    except ValueError:
        raise UnknownReferenceError(
            f"unknown channel {channel!r}", kind="channel", id=str(channel)
        ) from None


def _regular_rule(
    catalogue: Catalogue,
    rules: tuple[PriceRule, ...],
    *,
    sku: str,
    channel: Channel,
    store: str,
    zone: str | None,
    at: datetime,
) -> PriceRule:
    """Step 1: the first of `rules` (most specific first) matching store, zone and instant."""
    for rule in rules:
        if (
            (rule.store is None or rule.store == store)
            and (rule.zone is None or rule.zone == zone)
            and (rule.valid_from is None or rule.valid_from <= at)
            and (rule.valid_until is None or at < rule.valid_until)
        ):
            return rule
    catalogue.product(sku)  # an unknown SKU says so rather than "no price"
    raise NoApplicablePriceError(
        f"no price rule for {sku} in {channel} at store {store} at {at.isoformat()}",
        sku=sku,
        channel=str(channel),
        store=store,
        at=at.isoformat(),
    )


class _Offer(NamedTuple):
    """The promotion that wins for a key, and the unit price it gives the customer."""

    promotion: Promotion
    effective: Money


class _Rank(NamedTuple):
    """How promotions valid for a key compare: the lowest tuple wins."""

    effective: Money
    conditional: bool  # ties go to promotions without conditions
    negative_priority: int
    promotion_id: str
    promotion: Promotion


def _best_promotion(
    candidates: tuple[Promotion, ...],
    *,
    regular: Money,
    channel: Channel,
    store: str,
    zone: str | None,
    at: datetime,
) -> _Offer | None:
    valid = [
        p
        for p in candidates
        if (not p.channels or channel in p.channels)
        and p.applies_to_store(store, zone)
        and (p.valid_from is None or p.valid_from <= at)
        and (p.valid_until is None or at < p.valid_until)
    ]
    if not valid:
        return None
    exclusive = [p for p in valid if p.exclusive]
    if exclusive:
        top = max(p.priority for p in exclusive)
        valid = [p for p in exclusive if p.priority == top]
    best = min(
        _Rank(
            Money(promotional_unit_price(p, regular=regular), regular.currency),
            not p.changes_shelf_price,
            -p.priority,
            p.id,
            p,
        )
        for p in valid
    )
    return _Offer(best.promotion, best.effective)


def select_rule_and_promotion(
    catalogue: Catalogue,
    *,
    sku: str,
    channel: Channel | str,
    store: str,
    at: datetime,
) -> tuple[PriceRule, Promotion | None]:
    """The rule giving the regular price and the promotion that applies, if any."""
    channel = _channel(channel)
    zone = catalogue.store_zone(store)
    rule = _regular_rule(
        catalogue,
        catalogue.rules_for_channel(sku, channel),
        sku=sku,
        channel=channel,
        store=store,
        zone=zone,
        at=at,
    )
    candidates = catalogue.promotions_for(sku)
    if not candidates:
        return rule, None
    best = _best_promotion(
        candidates, regular=rule.amount, channel=channel, store=store, zone=zone, at=at
    )
    return rule, best.promotion if best is not None else None


def _content(
    rule: PriceRule,
    locale: str,
    *,
    regular: Money,
    price: Money,
    promotion: PromotionSummary | None,
    prior: Money | None,
    prior_basis: PriorPriceBasis | None,
    saving: Money | None,
    saving_percent: Decimal | None,
    unit_amount: UnitMoney | None,
    unit_label: str | None,
) -> LabelContent:
    """The label fields of `rule` in `locale`, with the fingerprint that digests them."""
    content = LabelContent(
        currency=price.currency,
        regular_price=regular,
        price=price,
        promotion=promotion,
        prior_price=prior,
        prior_price_basis=prior_basis,
        saving=saving,
        saving_percent=saving_percent,
        unit_price=unit_amount,
        unit_label=unit_label,
        price_rule_id=rule.id,
        price_scope=rule.scope,
        fingerprint="",
        locale=locale,
    )
    return content._replace(fingerprint=label_fingerprint(content))


def _plain_content(
    catalogue: Catalogue, pricing: SkuPricing, rule: PriceRule, locale: str
) -> LabelContent:
    """Label fields of a key whose rule is `rule` and that has no promotion (memoised)."""
    by_rule = pricing.contents.get(locale)
    if by_rule is None:
        by_rule = pricing.contents[locale] = {}
    content = by_rule.get(rule.id)
    if content is None:
        product = catalogue.product(rule.sku)
        price = rule.amount
        per_unit = unit_price(product, price=price, locale=locale)
        unit_amount = per_unit.price if per_unit is not None else None
        unit_label = per_unit.label if per_unit is not None else None
        content = _content(
            rule,
            locale,
            regular=price,
            price=price,
            promotion=None,
            prior=None,
            prior_basis=None,
            saving=None,
            saving_percent=None,
            unit_amount=unit_amount,
            unit_label=unit_label,
        )
        by_rule[rule.id] = content
    return content


def _promotion_content(
    catalogue: Catalogue,
    rule: PriceRule,
    promotion: Promotion,
    effective: Money,
    *,
    key: PriceKey,
    at: datetime,
    ledger: PriceLedger,
    locale: str,
) -> LabelContent:
    product = catalogue.product(rule.sku)
    regular = rule.amount
    prior: Money | None = None
    prior_basis: PriorPriceBasis | None = None
    saving: Money | None = None
    saving_percent: Decimal | None = None
    offer = None
    if promotion.changes_shelf_price:
        price = effective
        if price.amount < regular.amount:
            due = due_prior_price(
                ledger,
                key=key,
                product=product,
                store=catalogue.stores.get(key.store),
                price=price,
                at=at,
            )
            if due is not None:
                prior, prior_basis = due
        if prior is not None:
            saving, saving_percent = _saving(prior, price)
        text = announced_reduction_text(
            promotion, saving=saving, saving_percent=saving_percent, locale=locale
        )
    else:
        price = regular
        text = promotion_text(promotion, locale=locale)
        if promotion.kind is PromotionKind.LOYALTY_PRICE and effective.amount < regular.amount:
            # A card price is a reduction for the card's members on a named product: its
            # label shows the lowest price card holders paid in the 30 days before it
            # (UOKiK on art. 4 of the PL act of 9 May 2014). Its badge states the card
            # price, drawn even when that saves nothing: card holders pay it. A saving is
            # given only against the prior price (CJEU C-330/23), and only a real one.
            due = due_card_prior_price(
                ledger,
                key=key,
                product=product,
                store=catalogue.stores.get(key.store),
                card_price=effective,
                at=at,
            )
            if due is not None:
                prior, prior_basis = due
                if prior.amount > effective.amount:
                    saving, saving_percent = _saving(prior, effective)
        offer = unit_price(
            product,
            price=effective,
            locale=locale,
            omit_when_equal=False,
            exact=promotional_unit_price(promotion, regular=regular),
        )
    summary = PromotionSummary(
        id=promotion.id,
        name=promotion.name,
        kind=promotion.kind,
        text=text,
        valid_until=promotion.valid_until,
        effective_unit_price=effective,
        min_quantity=promotion.min_quantity,
        loyalty_only=promotion.kind is PromotionKind.LOYALTY_PRICE,
        offer_unit_price=offer.price if offer is not None else None,
    )
    # A conditional offer's label compares the single item's unit price with the offer's.
    per_unit = unit_price(product, price=price, locale=locale, omit_when_equal=offer is None)
    unit_amount = per_unit.price if per_unit is not None else None
    unit_label = per_unit.label if per_unit is not None else None
    return _content(
        rule,
        locale,
        regular=regular,
        price=price,
        promotion=summary,
        prior=prior,
        prior_basis=prior_basis,
        saving=saving,
        saving_percent=saving_percent,
        unit_amount=unit_amount,
        unit_label=unit_label,
    )


def _saving(prior: Money, price: Money) -> tuple[Money, Decimal]:
    """The saving of `price` against the prior price and its percentage: measured from the
    prior price, never from the regular price (CJEU C-330/23), and never overstated (the
    percent rounds down); nothing when `price` is not below the prior price."""
    if prior.amount <= price.amount:
        return Money.zero(price.currency), Decimal(0)
    saving = Money(prior.amount - price.amount, price.currency)
    percent = (saving.amount * _HUNDRED / prior.amount).quantize(
        _WHOLE_PERCENT, rounding=ROUND_DOWN
    )
    return saving, percent


def _label_content(
    catalogue: Catalogue,
    pricing: SkuPricing | None,
    sku: str,
    channel: Channel,
    store: str,
    zone: str | None,
    at: datetime,
    ledger: PriceLedger,
    locale: str,
) -> LabelContent:
    """Steps 1-4 of the module docstring for one key."""
    rule = _regular_rule(
        catalogue,
        pricing.by_channel[channel] if pricing is not None else (),
        sku=sku,
        channel=channel,
        store=store,
        zone=zone,
        at=at,
    )
    assert pricing is not None  # a SKU without rules has no index entry and no rule
    promotions = pricing.promotions
    by_category = catalogue.resolution_view.category_promotions
    if by_category:
        promotions += by_category.get(pricing.category, ())
    best = (
        _best_promotion(
            promotions, regular=rule.amount, channel=channel, store=store, zone=zone, at=at
        )
        if promotions
        else None
    )
    if best is not None:
        return _promotion_content(
            catalogue,
            rule,
            best.promotion,
            best.effective,
            key=PriceKey(sku, channel, store),
            at=at,
            ledger=ledger,
            locale=locale,
        )
    by_rule = pricing.contents.get(locale)
    content = by_rule.get(rule.id) if by_rule is not None else None
    if content is None:
        content = _plain_content(catalogue, pricing, rule, locale)
    index = _CHANNEL_INDEX[channel]
    if pricing.always[index] is rule and not promotions:
        pricing.constant[index] = content  # it names its locale: see `resolve`
    return content


def resolve(
    catalogue: Catalogue,
    *,
    sku: str,
    channel: Channel | str,
    store: str,
    at: datetime,
    ledger: PriceLedger,
    locale: str,
) -> ResolvedPrice:
    """The price of `sku` in `channel` at `store` at instant `at`, with its label fields.

    Raises `UnknownSkuError`, `UnknownStoreError`, `NoApplicablePriceError` (no rule
    applies), `NaiveDatetimeError` or `UnsupportedLocaleError`.
    """
    # The engine's hot path: most keys find their label fields memoised per SKU and
    # channel (`SkuPricing.constant`) and cost a few lookups and one object.
    if at.tzinfo is not UTC:
        # Compared with windows and ledger entries, which are in UTC (pricing.windows).
        at = _utc_instant(at)
    if type(channel) is not Channel:
        channel = _channel(channel)
    # Refuses a locale without label texts; the content is memoised per locale, not per
    # language: its country decides the unit price (a de_DE label is never per 100 g), and
    # its way of writing money the badges ("2 für € 5" in de_AT, as its price "€ 2,99").
    if locale not in _languages:
        _language(locale)
    view = catalogue.resolution_view
    try:
        zone = view.store_zones[store]
    except KeyError:
        raise UnknownStoreError(f"unknown store {store!r}", kind="store", id=store) from None
    pricing = view.pricing.get(sku)
    content = None
    if pricing is not None:
        content = pricing.constant[_CHANNEL_INDEX[channel]]
        if content is not None:
            by_category = view.category_promotions
            if content.locale != locale or (by_category and pricing.category in by_category):
                content = None
    if content is None:
        content = _label_content(catalogue, pricing, sku, channel, store, zone, at, ledger, locale)
    (
        currency,
        regular,
        price,
        summary,
        prior,
        prior_basis,
        saving,
        saving_percent,
        unit_amount,
        unit_label,
        rule_id,
        scope,
        fingerprint,
        _,
    ) = content
    resolved: ResolvedPrice = _new(ResolvedPrice)
    _set_sku(resolved, sku)
    _set_channel(resolved, channel)
    _set_store(resolved, store)
    _set_at(resolved, at)
    _set_currency(resolved, currency)
    _set_regular(resolved, regular)
    _set_price(resolved, price)
    _set_promotion(resolved, summary)
    _set_prior(resolved, prior)
    _set_prior_basis(resolved, prior_basis)
    _set_saving(resolved, saving)
    _set_saving_percent(resolved, saving_percent)
    _set_unit_price(resolved, unit_amount)
    _set_unit_label(resolved, unit_label)
    _set_rule_id(resolved, rule_id)
    _set_scope(resolved, scope)
    _set_fingerprint(resolved, fingerprint)
    return resolved


def resolve_key(
    catalogue: Catalogue, key: PriceKey, *, at: datetime, ledger: PriceLedger, locale: str
) -> ResolvedPrice:
    """`resolve` for the (SKU, channel, store) that `key` names."""
    return resolve(
        catalogue,
        sku=key.sku,
        channel=key.channel,
        store=key.store,
        at=at,
        ledger=ledger,
        locale=locale,
    )


def _utc_instant(at: datetime) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise NaiveDatetimeError("resolution instant must be timezone-aware", field="at")
    return in_utc(at, field="at")


def resolve_many(
    catalogue: Catalogue,
    *,
    keys: Iterable[PriceKey],
    at: datetime,
    ledger: PriceLedger,
    locale: str,
) -> dict[PriceKey, ResolvedPrice]:
    """Resolve every key at one instant; raises on the first key that cannot be priced."""
    at = _utc_instant(at)
    _language(locale)
    return {key: resolve_key(catalogue, key, at=at, ledger=ledger, locale=locale) for key in keys}
