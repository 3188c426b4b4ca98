"""A promotion is checked against the regular prices it can actually meet: in each channel
and store it reaches, the rule that wins there under `SCOPE_PRECEDENCE` while it runs.

A web-only deal at 6.00 on an item sold at 8.00 on the web and 5.00 on the shop floor
was refused as "above rule base's regular 5.00", though the web price always beats the
base price on the web (docs/pricing.md, "Price rules and precedence" and "Promotions and
stacking"). It stays refused where a customer could pay the lower price while it runs."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pricing import Catalogue, Channel, PriceLedger, PriceRule, Promotion, PromotionKind, resolve
from pricing.errors import PromotionPriceAboveRegularError
from pricing.products import Store
from tests.strategies import (
    PRICING_EPOCH,
    PRICING_SKUS,
    PRICING_STORES,
    pln,
    pricing_product,
)

T = datetime(2026, 3, 1, tzinfo=UTC)
PRODUCTS = [pricing_product("A")]
STORES = [
    Store(code="S1", name="Oliwa", zone="north"),
    Store(code="S2", name="Praga", zone="south"),
]


def test_a_web_only_promotion_below_the_web_price_is_accepted() -> None:
    rules = [
        PriceRule(id="base", sku="A", amount=pln(500)),  # shop floor: 5.00
        PriceRule(id="web", sku="A", amount=pln(800), channel=Channel.WEB),  # web: 8.00
    ]
    web_deal = Promotion(
        id="WEB-6",
        name="Web deal",
        kind=PromotionKind.FIXED_PRICE,
        skus=frozenset({"A"}),
        channels=frozenset({Channel.WEB}),
        amount=pln(600),  # 6.00 on the web, where it costs 8.00
    )
    catalogue = Catalogue(
        products=PRODUCTS, stores=STORES, rules=rules, promotions=[web_deal], currency="PLN"
    )
    web = resolve(
        catalogue, sku="A", channel="web", store="S1", at=T, ledger=PriceLedger(), locale="pl_PL"
    )
    shop = resolve(
        catalogue, sku="A", channel="store", store="S1", at=T, ledger=PriceLedger(), locale="pl_PL"
    )
    assert (web.regular_price, web.price) == (pln(800), pln(600))
    assert (shop.regular_price, shop.price, shop.promotion) == (pln(500), pln(500), None)


def test_a_zone_web_promotion_below_the_zone_web_price_is_accepted() -> None:
    rules = [
        PriceRule(id="base", sku="A", amount=pln(1000)),
        PriceRule(id="north", sku="A", amount=pln(600), zone="north"),
        PriceRule(id="north-web", sku="A", amount=pln(1200), zone="north", channel=Channel.WEB),
    ]
    deal = Promotion(
        id="NORTH-WEB-9",
        name="North web deal",
        kind=PromotionKind.FIXED_PRICE,
        skus=frozenset({"A"}),
        channels=frozenset({Channel.WEB}),
        zones=frozenset({"north"}),
        amount=pln(900),
    )
    catalogue = Catalogue(
        products=PRODUCTS, stores=STORES, rules=rules, promotions=[deal], currency="PLN"
    )
    web = resolve(
        catalogue, sku="A", channel="web", store="S1", at=T, ledger=PriceLedger(), locale="pl_PL"
    )
    assert (web.regular_price, web.price) == (pln(1200), pln(900))


def web_deal_at_6(**window: datetime) -> Promotion:
    return Promotion(
        id="WEB-6",
        name="Web deal",
        kind=PromotionKind.FIXED_PRICE,
        skus=frozenset({"A"}),
        channels=frozenset({Channel.WEB}),
        amount=pln(600),
        **window,  # type: ignore[arg-type]
    )


def test_a_web_promotion_outlasting_the_web_price_is_refused_against_the_base_price() -> None:
    # The web price ends on the 10th; from then on the web sells at the base 5.00, and
    # the deal running to the 20th would sell above it there.
    rules = [
        PriceRule(id="base", sku="A", amount=pln(500)),
        PriceRule(
            id="web", sku="A", amount=pln(800), channel=Channel.WEB, valid_until=T + timedelta(9)
        ),
    ]
    catalogue = Catalogue(products=PRODUCTS, stores=STORES, rules=rules, currency="PLN")
    with pytest.raises(PromotionPriceAboveRegularError) as error:
        catalogue.with_changes(promotions=[web_deal_at_6(valid_until=T + timedelta(19))])
    assert error.value.fields["rule_id"] == "base"
    assert "would sell A at 6.00 a unit, above rule base's regular 5.00 PLN" in str(error.value)
    # Ending with the web price, it never meets the base price: taken.
    within = catalogue.with_changes(promotions=[web_deal_at_6(valid_until=T + timedelta(9))])
    assert "WEB-6" in within.promotions


def test_a_store_promotion_is_checked_against_the_price_of_the_stores_it_reaches() -> None:
    rules = [
        PriceRule(id="base", sku="A", amount=pln(500)),
        PriceRule(id="oliwa", sku="A", amount=pln(800), store="S1"),
    ]
    catalogue = Catalogue(products=PRODUCTS, stores=STORES, rules=rules, currency="PLN")

    def deal(*stores: str) -> Promotion:
        return Promotion(
            id="OLIWA-6",
            name="Oliwa deal",
            kind=PromotionKind.FIXED_PRICE,
            skus=frozenset({"A"}),
            stores=frozenset(stores),
            amount=pln(600),
        )

    oliwa = catalogue.with_changes(promotions=[deal("S1")])
    label = resolve(
        oliwa, sku="A", channel="store", store="S1", at=T, ledger=PriceLedger(), locale="pl_PL"
    )
    assert (label.regular_price, label.price) == (pln(800), pln(600))
    # Praga sells at the base 5.00: the same deal there would raise its price.
    with pytest.raises(PromotionPriceAboveRegularError) as error:
        catalogue.with_changes(promotions=[deal("S1", "S2")])
    assert error.value.fields["rule_id"] == "base"
    # Oliwa's own price ending on the 10th, it sells at the base 5.00 from then on.
    ending = catalogue.with_changes(rules=[replace(rules[1], valid_until=T + timedelta(9))])
    with pytest.raises(PromotionPriceAboveRegularError) as error:
        ending.with_changes(promotions=[deal("S1")])
    assert error.value.fields["rule_id"] == "base"


def plainly_above(rules: list[PriceRule], promotion: Promotion) -> bool:
    """Whether, read straight from docs/pricing.md, `promotion` (fixed price, SKU A) sells
    above the regular price at some store, channel and instant where it applies."""
    edges = {e for r in rules for e in (r.valid_from, r.valid_until) if e is not None}
    edges.add(promotion.valid_from or PRICING_EPOCH - timedelta(days=1))
    rank = {"store_channel": 0, "store": 1, "zone_channel": 2, "zone": 3, "channel": 4, "base": 5}
    assert promotion.amount is not None
    for at in edges:
        if not (promotion.valid_from or at) <= at < (promotion.valid_until or at + timedelta(1)):
            continue
        for store in PRICING_STORES:
            if not promotion.applies_to_store(store.code, store.zone):
                continue
            for channel in Channel:
                if not promotion.applies_to_channel(channel):
                    continue
                regular = min(
                    (
                        r
                        for r in rules
                        if r.sku == "A"
                        and r.channel in (None, channel)
                        and r.store in (None, store.code)
                        and r.zone in (None, store.zone)
                        and (r.valid_from is None or r.valid_from <= at)
                        and (r.valid_until is None or at < r.valid_until)
                    ),
                    key=lambda r: rank[r.scope],
                )
                if promotion.amount > regular.amount:
                    return True
    return False


DAYS = st.integers(0, 6).map(lambda d: PRICING_EPOCH + timedelta(days=d))


@st.composite
def rules_of_a(draw: st.DrawFn) -> list[PriceRule]:
    """A's rules: an open base price, and a few scopes whose prices start and stop within
    one week (the week the promotions run in), so they shadow each other only at times."""
    rules = [PriceRule(id="base", sku="A", amount=draw(st.integers(200, 209).map(pln)))]
    scopes = draw(
        st.lists(
            st.tuples(
                st.none() | st.sampled_from(Channel),
                st.sampled_from([(None, None), ("north", None), ("south", None), (None, "S1")]),
            ),
            unique=True,
            max_size=4,
        )
    )
    for n, (channel, (zone, store)) in enumerate(scopes):
        if channel is None and zone is None and store is None:
            continue
        cuts = sorted(draw(st.sets(DAYS, max_size=3)))
        for w, (start, end) in enumerate(pairwise([None, *cuts, None])):
            if draw(st.booleans()):
                rules.append(
                    PriceRule(
                        id=f"r{n}-{w}",
                        sku="A",
                        amount=draw(st.integers(200, 209).map(pln)),
                        channel=channel,
                        zone=zone,
                        store=store,
                        valid_from=start,
                        valid_until=end,
                    )
                )
    return rules


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rules=rules_of_a(),
    amount=st.integers(200, 209),
    channels=st.sets(st.sampled_from(Channel), max_size=2),
    stores=st.sets(st.sampled_from(["S1", "S3", "S4"]), max_size=2),
    zones=st.sets(st.sampled_from(["north", "south"]), max_size=1),
    start=st.none() | DAYS,
    hours=st.none() | st.integers(1, 7 * 24),
)
def test_a_promotion_is_refused_exactly_when_it_sells_above_a_price_someone_pays(
    rules: list[PriceRule],
    amount: int,
    channels: set[Channel],
    stores: set[str],
    zones: set[str],
    start: datetime | None,
    hours: int | None,
) -> None:
    promotion = Promotion(
        id="P",
        name="Promocja",
        kind=PromotionKind.FIXED_PRICE,
        skus=frozenset({"A"}),
        channels=frozenset(channels),
        stores=frozenset(stores),
        zones=frozenset(zones),
        amount=pln(amount),
        valid_from=start,
        valid_until=None if hours is None else (start or PRICING_EPOCH) + timedelta(hours=hours),
    )
    products = [pricing_product(sku) for sku in PRICING_SKUS]
    if plainly_above(rules, promotion):
        with pytest.raises(PromotionPriceAboveRegularError):
            Catalogue(
                products=products,
                stores=PRICING_STORES,
                rules=rules,
                promotions=[promotion],
                currency="PLN",
            )
    else:
        Catalogue(
            products=products,
            stores=PRICING_STORES,
            rules=rules,
            promotions=[promotion],
            currency="PLN",
        )
