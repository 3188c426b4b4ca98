"""Change impact and scheduling: what a change shows on which labels, and when."""

from __future__ import annotations

from datetime import timedelta

import pytest

from pricing import (
    Catalogue,
    Channel,
    PriceKey,
    PriceLedger,
    PriceRule,
    Promotion,
    PromotionKind,
    Store,
    change_impact,
    next_change_instant,
)
from pricing.errors import (
    NaiveDatetimeError,
    OverlappingWindowError,
    PromotionPriceAboveRegularError,
    UnknownReferenceError,
)
from tests.strategies import PRICING_EPOCH, PRICING_STORES, pln
from tests.support.pricing import DAIRY_AND_BREAD, percent_off_sale, pln_catalogue, shelf_price

T0 = PRICING_EPOCH
STORES = list(PRICING_STORES)  # S1, S2 north; S3 south; S4 in no zone
RULES = [
    PriceRule(id="A-base", sku="A", amount=pln(1000)),
    PriceRule(id="A-s1", sku="A", amount=pln(900), store="S1"),
    PriceRule(id="B-base", sku="B", amount=pln(500)),
    PriceRule(id="B-web", sku="B", amount=pln(450), channel=Channel.WEB),
]


def catalogue() -> Catalogue:
    return pln_catalogue(RULES, stores=STORES, products=DAIRY_AND_BREAD)


def keys(sku: str, channels: list[Channel], stores: list[str]) -> set[PriceKey]:
    return {PriceKey(sku, channel, store) for channel in channels for store in stores}


ALL_CHANNELS = list(Channel)


def impact(before: Catalogue, after: Catalogue) -> set[PriceKey]:
    return change_impact(before, after, at=T0, ledger=PriceLedger(), locale="pl_PL")


def test_a_new_base_price_reaches_every_key_that_the_base_rule_prices() -> None:
    before = catalogue()
    after = before.with_changes(rules=[PriceRule(id="A-base", sku="A", amount=pln(1100))])
    # S1 has its own price for A: its labels do not change.
    assert impact(before, after) == keys("A", ALL_CHANNELS, ["S2", "S3", "S4"])


def test_a_store_price_reaches_only_that_store() -> None:
    before = catalogue()
    after = before.with_changes(rules=[PriceRule(id="B-s3", sku="B", amount=pln(480), store="S3")])
    assert impact(before, after) == keys("B", ALL_CHANNELS, ["S3"])


def test_a_zone_price_reaches_the_zone_but_not_a_store_with_its_own_price() -> None:
    before = catalogue()
    after = before.with_changes(
        rules=[PriceRule(id="A-north", sku="A", amount=pln(950), zone="north")]
    )
    assert impact(before, after) == keys("A", ALL_CHANNELS, ["S2"])


def test_a_channel_price_reaches_that_channel_everywhere_else() -> None:
    before = catalogue()
    after = before.with_changes(
        rules=[PriceRule(id="A-app", sku="A", amount=pln(990), channel=Channel.APP)]
    )
    assert impact(before, after) == keys("A", [Channel.APP], ["S2", "S3", "S4"])


def test_a_change_that_shows_nothing_new_affects_nothing() -> None:
    before = catalogue()
    # Same amount under a new id and scope: no label shows the rule id.
    after = before.with_changes(
        removed_rule_ids=["B-web"],
        rules=[PriceRule(id="B-web-2", sku="B", amount=pln(450), channel=Channel.WEB)],
    )
    assert impact(before, after) == set()


def test_a_promotion_for_a_zone_reaches_its_stores_and_channels() -> None:
    before = catalogue()
    promotion = percent_off_sale(
        "P",
        10,
        name="Chleb",
        skus=frozenset(),
        categories=frozenset({"bread"}),
        zones=frozenset({"north"}),
        channels=frozenset({Channel.STORE}),
    )
    after = before.with_changes(promotions=[promotion])
    assert impact(before, after) == keys("B", [Channel.STORE], ["S1", "S2"])
    assert impact(after, after.with_changes(removed_promotion_ids=["P"])) == keys(
        "B", [Channel.STORE], ["S1", "S2"]
    )


def test_removing_the_only_rule_of_a_key_counts_as_a_change() -> None:
    before = catalogue()
    after = before.with_changes(removed_rule_ids=["B-web"], rules=[])
    assert impact(before, after) == keys("B", [Channel.WEB], ["S1", "S2", "S3", "S4"])
    without_price = before.with_changes(removed_rule_ids=["B-base", "B-web"])
    assert impact(before, without_price) == keys("B", ALL_CHANNELS, ["S1", "S2", "S3", "S4"])


def test_impact_is_measured_at_the_instant_given() -> None:
    before = catalogue()
    after = before.with_changes(
        removed_rule_ids=["B-base"],
        rules=[
            PriceRule(id="B-old", sku="B", amount=pln(500), valid_until=T0 + timedelta(days=1)),
            PriceRule(id="B-new", sku="B", amount=pln(520), valid_from=T0 + timedelta(days=1)),
        ],
    )
    assert impact(before, after) == set()  # today nothing differs
    tomorrow = change_impact(
        before, after, at=T0 + timedelta(days=1), ledger=PriceLedger(), locale="pl_PL"
    )
    assert tomorrow == keys("B", [Channel.STORE, Channel.APP], ["S1", "S2", "S3", "S4"])


def test_catalogues_built_apart_are_compared_in_full_with_the_same_answer() -> None:
    before = catalogue()
    changed = [PriceRule(id="A-base", sku="A", amount=pln(1100))]
    derived = before.with_changes(rules=changed)
    rebuilt = pln_catalogue(
        [*RULES[1:], *changed], stores=STORES, products=list(before.products.values())
    )
    assert derived.lineage is not None
    assert rebuilt.lineage is None
    assert impact(before, rebuilt) == impact(before, derived)


def test_moving_a_store_to_another_zone_is_a_change_too() -> None:
    before = pln_catalogue(
        [
            PriceRule(id="A-base", sku="A", amount=pln(1000)),
            PriceRule(id="A-south", sku="A", amount=pln(950), zone="south"),
        ],
        stores=STORES,
    )
    moved = [Store("S1", "Jeden", "north"), Store("S2", "Dwa", "south"), *STORES[2:]]
    after = pln_catalogue(list(before.rules.values()), stores=moved)
    assert impact(before, after) == keys("A", ALL_CHANNELS, ["S2"])


def test_with_changes_validates_like_a_fresh_build() -> None:
    before = catalogue()
    with pytest.raises(OverlappingWindowError):
        before.with_changes(rules=[PriceRule(id="A-base-2", sku="A", amount=pln(1), valid_from=T0)])
    promotion = Promotion(
        id="P", name="x", kind=PromotionKind.FIXED_PRICE, skus=frozenset({"A"}), amount=pln(950)
    )
    with pytest.raises(PromotionPriceAboveRegularError):
        before.with_changes(promotions=[promotion])  # A costs 9.00 in S1
    fine = Promotion(
        id="P", name="x", kind=PromotionKind.FIXED_PRICE, skus=frozenset({"A"}), amount=pln(850)
    )
    promoted = before.with_changes(promotions=[fine])
    with pytest.raises(PromotionPriceAboveRegularError):
        # A cheaper store price added later would now sit below the promotion.
        promoted.with_changes(rules=[PriceRule(id="A-s3", sku="A", amount=pln(800), store="S3")])
    with pytest.raises(UnknownReferenceError):
        before.with_changes(removed_rule_ids=["nope"])


def test_with_changes_leaves_the_original_catalogue_untouched() -> None:
    before = catalogue()
    before.with_changes(rules=[PriceRule(id="A-base", sku="A", amount=pln(1))])
    label = shelf_price(before, at=T0, store="S2")
    assert label.price == pln(1000)


def test_next_change_instant_is_the_next_start_or_end_of_a_rule_or_promotion() -> None:
    day = timedelta(days=1)
    catalogue = pln_catalogue(
        [
            PriceRule(id="old", sku="A", amount=pln(1000), valid_until=T0 + 3 * day),
            PriceRule(id="new", sku="A", amount=pln(1100), valid_from=T0 + 3 * day),
        ],
        [percent_off_sale("P", 10, valid_from=T0 + day, valid_until=T0 + 5 * day)],
        stores=STORES,
    )
    assert next_change_instant(catalogue, after=T0) == T0 + day
    assert next_change_instant(catalogue, after=T0 + day) == T0 + 3 * day
    assert next_change_instant(catalogue, after=T0 + 4 * day) == T0 + 5 * day
    assert next_change_instant(catalogue, after=T0 + 5 * day) is None
    with pytest.raises(NaiveDatetimeError):
        next_change_instant(catalogue, after=T0.replace(tzinfo=None))
