"""Properties of the engine over random small catalogues (shared strategies)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pricing import (
    LONGEST_CLOCK_CHANGE,
    PRIOR_PRICE_LOOKBACK,
    Catalogue,
    Channel,
    LedgerEntry,
    PriceKey,
    PriceLedger,
    PriceRule,
    Promotion,
    PromotionKind,
    ResolvedPrice,
    change_impact,
    omnibus_prior_price,
)
from pricing.errors import NoApplicablePriceError, PricingError
from pricing.resolution import resolve_key
from tests.strategies import (
    PRICING_EPOCH,
    PRICING_SKUS,
    PRICING_STORES,
    pln,
    price_cents,
    price_rule_sets,
    pricing_instants,
    pricing_product,
    promotion_sets,
)

PRODUCTS = [pricing_product(sku, perishable=sku == "C") for sku in PRICING_SKUS]
KEYS = [
    PriceKey(sku, channel, store.code)
    for sku in PRICING_SKUS
    for channel in Channel
    for store in PRICING_STORES
]
PROPERTY_SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def build(rules: list[PriceRule], promotions: list[Promotion]) -> Catalogue:
    return Catalogue(
        products=PRODUCTS, stores=PRICING_STORES, rules=rules, promotions=promotions, currency="PLN"
    )


def labels(
    catalogue: Catalogue, at: datetime, ledger: PriceLedger
) -> dict[PriceKey, ResolvedPrice | None]:
    found: dict[PriceKey, ResolvedPrice | None] = {}
    for key in KEYS:
        try:
            found[key] = resolve_key(catalogue, key, at=at, ledger=ledger, locale="pl_PL")
        except NoApplicablePriceError:
            found[key] = None
    return found


@PROPERTY_SETTINGS
@given(
    rules=price_rule_sets(),
    promotions=promotion_sets(),
    at=pricing_instants,
    seed=st.randoms(use_true_random=False),
)
def test_resolution_does_not_depend_on_the_order_rules_were_added(
    rules: list[PriceRule], promotions: list[Promotion], at: datetime, seed: random.Random
) -> None:
    shuffled_rules, shuffled_promotions = list(rules), list(promotions)
    seed.shuffle(shuffled_rules)
    seed.shuffle(shuffled_promotions)
    ledger = PriceLedger()
    assert labels(build(rules, promotions), at, ledger) == labels(
        build(shuffled_rules, shuffled_promotions), at, ledger
    )


@PROPERTY_SETTINGS
@given(rules=price_rule_sets(), promotions=promotion_sets(), at=pricing_instants)
def test_the_payable_price_is_never_negative_nor_above_the_regular_price(
    rules: list[PriceRule], promotions: list[Promotion], at: datetime
) -> None:
    for label in labels(build(rules, promotions), at, PriceLedger()).values():
        assert label is not None  # every SKU has an open-ended base rule
        assert label.price.amount >= 0
        assert label.price <= label.regular_price
        if label.promotion is not None:
            assert label.promotion.effective_unit_price <= label.regular_price
        if label.saving is not None:
            assert label.saving.amount >= 0


ledger_histories = st.lists(
    st.tuples(st.integers(-80 * 24, 0), price_cents),
    min_size=1,
    max_size=12,
    unique_by=lambda e: e[0],
)


@settings(max_examples=200, deadline=None)
@given(
    history=ledger_histories,
    start_hours=st.integers(-60 * 24, 24),
    new_for=st.none() | st.integers(0, 60),  # 0: launched at the reduction
)
def test_the_prior_price_is_never_above_any_price_applied_in_its_window(
    history: list[tuple[int, int]], start_hours: int, new_for: int | None
) -> None:
    key = PriceKey("A", Channel.STORE, "S1")
    ledger = PriceLedger(
        LedgerEntry(
            key=key,
            effective_from=PRICING_EPOCH + timedelta(hours=hours),
            price=pln(cents),
            regular_price=pln(cents),
        )
        for hours, cents in sorted(history)
    )
    started = PRICING_EPOCH + timedelta(hours=start_hours)
    on_sale_since = (
        started - timedelta(days=new_for) if new_for is not None else started - timedelta(days=400)
    )
    prior = omnibus_prior_price(
        ledger,
        key=key,
        reduction_started=started,
        on_sale_since=on_sale_since,
        perishable=False,
        currency="PLN",
    )
    # Not shorter than 30 days on any wall clock: an hour more of elapsed time.
    window_start = max(started - PRIOR_PRICE_LOOKBACK - LONGEST_CLOCK_CHANGE, on_sale_since)
    entries = ledger.entries(key)
    applied_in_window = [
        entry.price
        for index, entry in enumerate(entries)
        if entry.effective_from < started
        and (index + 1 == len(entries) or entries[index + 1].effective_from > window_start)
    ]
    if window_start >= started or not applied_in_window:
        assert prior is None  # nothing charged before the reduction: nothing to announce
        return
    assert prior is not None
    assert all(prior.price <= price for price in applied_in_window)
    assert prior.price in applied_in_window


@PROPERTY_SETTINGS
@given(
    rules=price_rule_sets(),
    promotions=promotion_sets(),
    changed_rules=price_rule_sets(),
    changed_promotions=promotion_sets(),
    at=pricing_instants,
    drop=st.sets(st.integers(0, 20), max_size=3),
)
def test_change_impact_is_exactly_the_keys_whose_label_changes(
    rules: list[PriceRule],
    promotions: list[Promotion],
    changed_rules: list[PriceRule],
    changed_promotions: list[Promotion],
    at: datetime,
    drop: set[int],
) -> None:
    before = build(rules, promotions)
    # Replace rules and promotions by id where ids collide, add the rest, drop a few;
    # whatever the catalogue refuses (overlaps, prices) is not a change worth testing.
    new_ids = {r.id for r in changed_rules}
    removed = [
        r.id
        for i, r in enumerate(rules)
        if i in drop and r.id not in new_ids and not r.id.endswith("-base")
    ]
    try:
        after = before.with_changes(
            rules=changed_rules[: len(changed_rules) // 2],
            removed_rule_ids=removed,
            promotions=changed_promotions[:2],
        )
    except PricingError:  # an invalid random change is simply not a case
        return
    ledger = PriceLedger()
    old, new = labels(before, at, ledger), labels(after, at, ledger)
    expected = {
        key
        for key in KEYS
        if (old[key].fingerprint if old[key] else None)
        != (new[key].fingerprint if new[key] else None)
    }
    assert change_impact(before, after, at=at, ledger=ledger, locale="pl_PL") == expected
    # The same answer without lineage (catalogues built independently), by full comparison.
    rebuilt = build(list(after.rules.values()), list(after.promotions.values()))
    assert change_impact(before, rebuilt, at=at, ledger=ledger, locale="pl_PL") == expected
    assert labels(rebuilt, at, ledger) == new


def reference_choice(
    rules: list[PriceRule], promotions: list[Promotion], key: PriceKey, at: datetime
) -> tuple[str | None, str | None]:
    """Rule and promotion ids chosen the slow, obvious way, straight from docs/pricing.md."""
    zone = next(s.zone for s in PRICING_STORES if s.code == key.store)
    rank = {"store_channel": 0, "store": 1, "zone_channel": 2, "zone": 3, "channel": 4, "base": 5}
    applicable = [
        r
        for r in rules
        if r.sku == key.sku
        and r.channel in (None, key.channel)
        and r.store in (None, key.store)
        and r.zone in (None, zone)
        and (r.valid_from is None or r.valid_from <= at)
        and (r.valid_until is None or at < r.valid_until)
    ]
    if not applicable:
        return None, None
    rule = min(applicable, key=lambda r: rank[r.scope])
    category = next(p.category for p in PRODUCTS if p.sku == key.sku)
    valid = [
        p
        for p in promotions
        if (key.sku in p.skus or category in p.categories)
        and (not p.channels or key.channel in p.channels)
        and (not (p.stores or p.zones) or key.store in p.stores or zone in p.zones)
        and (p.valid_from is None or p.valid_from <= at)
        and (p.valid_until is None or at < p.valid_until)
    ]
    if any(p.exclusive for p in valid):
        top = max(p.priority for p in valid if p.exclusive)
        valid = [p for p in valid if p.exclusive and p.priority == top]
    if not valid:
        return rule.id, None

    def customer_price(p: Promotion) -> Decimal:
        regular = rule.amount.amount
        if p.kind is PromotionKind.PERCENT_OFF:
            assert p.percent is not None
            unit = regular * (100 - p.percent) / 100
        elif p.kind is PromotionKind.BUY_N_GET_M:
            assert p.quantity is not None
            assert p.free_quantity is not None
            unit = regular * p.quantity / (p.quantity + p.free_quantity)
        elif p.kind is PromotionKind.AMOUNT_OFF:
            assert p.amount is not None
            unit = regular - p.amount.amount
        elif p.kind is PromotionKind.MULTI_BUY:
            assert p.amount is not None
            assert p.quantity is not None
            unit = p.amount.amount / p.quantity
        else:
            assert p.amount is not None
            unit = p.amount.amount
        return unit.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)

    conditional = (PromotionKind.MULTI_BUY, PromotionKind.BUY_N_GET_M, PromotionKind.LOYALTY_PRICE)
    best = min(valid, key=lambda p: (customer_price(p), p.kind in conditional, -p.priority, p.id))
    return rule.id, best.id


@PROPERTY_SETTINGS
@given(
    rules=price_rule_sets(),
    promotions=promotion_sets(),
    instants=st.lists(pricing_instants, min_size=1, max_size=3),
)
def test_resolution_agrees_with_a_plain_reading_of_the_rules_every_time(
    rules: list[PriceRule], promotions: list[Promotion], instants: list[datetime]
) -> None:
    catalogue = build(rules, promotions)
    ledger = PriceLedger()
    # Several instants and repeated calls: memoised answers must stay right.
    for at in [*instants, *instants]:
        for key, label in labels(catalogue, at, ledger).items():
            rule_id, promotion_id = reference_choice(rules, promotions, key, at)
            assert (label.price_rule_id if label else None) == rule_id
            assert (label.promotion.id if label and label.promotion else None) == promotion_id


@PROPERTY_SETTINGS
@given(
    rules=price_rule_sets(),
    promotions=promotion_sets(),
    changed_rules=price_rule_sets(),
    at=pricing_instants,
)
def test_change_impact_without_stores_is_empty(
    rules: list[PriceRule],
    promotions: list[Promotion],
    changed_rules: list[PriceRule],
    at: datetime,
) -> None:
    # A freshly migrated store of record has products and prices before any store
    # (the README's order of steps): no key exists, so nothing can change.
    unscoped = [r for r in rules + changed_rules if r.store is None and r.zone is None]
    promos = [p for p in promotions if not p.stores and not p.zones]
    before = Catalogue(products=PRODUCTS, stores=[], rules=[], promotions=[], currency="PLN")
    try:
        after = before.with_changes(rules=unscoped[:4], promotions=promos[:2])
    except PricingError:
        return
    assert change_impact(before, after, at=at, ledger=PriceLedger(), locale="pl_PL") == set()
