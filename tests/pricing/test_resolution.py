"""Resolution: precedence of scopes, windows, promotions and stacking, label fields."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from pricing import (
    Catalogue,
    Channel,
    LedgerEntry,
    NetUnit,
    PriceKey,
    PriceLedger,
    PriceRule,
    PriceScope,
    Product,
    Promotion,
    PromotionKind,
    ResolvedPrice,
    resolve,
    resolve_many,
)
from pricing.errors import (
    NaiveDatetimeError,
    NoApplicablePriceError,
    UnknownReferenceError,
    UnknownSkuError,
    UnknownStoreError,
    UnsupportedLocaleError,
)
from pricing.resolution import resolve_key
from tests.strategies import PRICING_EPOCH, PRICING_STORES, pln, pricing_product
from tests.support.pricing import DAIRY_AND_BREAD, percent_off_sale, pln_catalogue, shelf_price

T0 = PRICING_EPOCH
STORES = list(PRICING_STORES[:3])  # S1, S2 north; S3 south
# One rule per scope for SKU A, each with a distinct amount, so the winner is visible.
ALL_SCOPES = [
    PriceRule(id="base", sku="A", amount=pln(1000)),
    PriceRule(id="web", sku="A", amount=pln(950), channel=Channel.WEB),
    PriceRule(id="north", sku="A", amount=pln(900), zone="north"),
    PriceRule(id="north-web", sku="A", amount=pln(850), zone="north", channel=Channel.WEB),
    PriceRule(id="s1", sku="A", amount=pln(800), store="S1"),
    PriceRule(id="s1-web", sku="A", amount=pln(750), store="S1", channel=Channel.WEB),
]


def build(rules: list[PriceRule], promotions: list[Promotion] | None = None) -> Catalogue:
    return pln_catalogue(rules, promotions or [], stores=STORES, products=DAIRY_AND_BREAD)


def price_of(
    catalogue: Catalogue,
    *,
    sku: str = "A",
    channel: Channel = Channel.STORE,
    store: str = "S1",
    at: timedelta = timedelta(0),
    ledger: PriceLedger | None = None,
    locale: str = "pl_PL",
) -> ResolvedPrice:
    return shelf_price(
        catalogue, at=T0 + at, ledger=ledger, sku=sku, store=store, channel=channel, locale=locale
    )


@pytest.mark.parametrize(
    ("channel", "store", "rule_id", "scope"),
    [
        (Channel.WEB, "S1", "s1-web", PriceScope.STORE_CHANNEL),
        (Channel.STORE, "S1", "s1", PriceScope.STORE),
        (Channel.WEB, "S2", "north-web", PriceScope.ZONE_CHANNEL),
        (Channel.APP, "S2", "north", PriceScope.ZONE),
        (Channel.WEB, "S3", "web", PriceScope.CHANNEL),
        (Channel.APP, "S3", "base", PriceScope.BASE),
    ],
)
def test_the_most_specific_applicable_scope_wins(
    channel: Channel, store: str, rule_id: str, scope: PriceScope
) -> None:
    resolved = price_of(build(ALL_SCOPES), channel=channel, store=store)
    assert resolved.price_rule_id == rule_id
    assert resolved.price_scope is scope
    assert resolved.price == {r.id: r.amount for r in ALL_SCOPES}[rule_id]


def test_a_store_price_outside_its_window_gives_way_to_the_next_scope() -> None:
    rules = [
        PriceRule(id="base", sku="A", amount=pln(1000)),
        PriceRule(
            id="s1-week",
            sku="A",
            amount=pln(800),
            store="S1",
            valid_from=T0 + timedelta(days=1),
            valid_until=T0 + timedelta(days=8),
        ),
    ]
    catalogue = build(rules)
    assert price_of(catalogue, at=timedelta(hours=23)).price == pln(1000)
    assert price_of(catalogue, at=timedelta(days=1)).price == pln(800)  # from is inclusive
    assert price_of(catalogue, at=timedelta(days=8)).price == pln(1000)  # until is exclusive


def test_a_key_with_no_rule_in_force_says_so() -> None:
    catalogue = build([PriceRule(id="later", sku="A", amount=pln(100), valid_from=T0)])
    with pytest.raises(NoApplicablePriceError) as error:
        price_of(catalogue, at=-timedelta(seconds=1))
    assert error.value.fields["sku"] == "A"
    with pytest.raises(NoApplicablePriceError):
        price_of(catalogue, sku="B")


def test_unknown_sku_store_channel_locale_and_naive_instants_are_refused() -> None:
    catalogue = build(ALL_SCOPES)
    with pytest.raises(UnknownSkuError):
        price_of(catalogue, sku="ZZZ")
    with pytest.raises(UnknownStoreError):
        price_of(catalogue, store="S9")
    with pytest.raises(UnknownReferenceError):
        resolve(
            catalogue,
            sku="A",
            channel="fax",
            store="S1",
            at=T0,
            ledger=PriceLedger(),
            locale="pl_PL",
        )
    with pytest.raises(UnsupportedLocaleError):
        price_of(catalogue, locale="uk_UA")  # no Ukrainian label texts
    with pytest.raises(UnsupportedLocaleError):
        price_of(catalogue, locale="xx_YY")
    with pytest.raises(NaiveDatetimeError):
        shelf_price(catalogue, at=T0.replace(tzinfo=None))


def test_a_channel_may_be_given_as_its_name() -> None:
    catalogue = build(ALL_SCOPES)
    by_name = resolve(
        catalogue, sku="A", channel="web", store="S1", at=T0, ledger=PriceLedger(), locale="pl_PL"
    )
    assert by_name.channel is Channel.WEB
    assert by_name == price_of(catalogue, channel=Channel.WEB)


def promotion(kind: PromotionKind, **fields: object) -> Promotion:
    defaults: dict[str, object] = {
        "id": f"P-{kind}",
        "name": f"Promo {kind}",
        "skus": frozenset({"A"}),
    }
    return Promotion(kind=kind, **{**defaults, **fields})  # type: ignore[arg-type]


BASE_10 = [PriceRule(id="base", sku="A", amount=pln(1000))]
# What the shelf charged before each test's instant: 10.00 zł for months.
TEN_FOR_MONTHS = PriceLedger(
    [
        LedgerEntry(
            key=PriceKey("A", Channel.STORE, "S1"),
            effective_from=T0 - timedelta(days=90),
            price=pln(1000),
            regular_price=pln(1000),
        )
    ]
)


@pytest.mark.parametrize(
    ("promo", "price", "effective", "text", "min_quantity"),
    [
        (promotion(PromotionKind.PERCENT_OFF, percent=Decimal(25)), "7.50", "7.50", "-25%", 1),
        (
            promotion(PromotionKind.PERCENT_OFF, percent=Decimal("12.5")),
            "8.75",
            "8.75",
            "-12%",  # the saving is never overstated: 12.5 % is announced as 12 %
            1,
        ),
        (
            promotion(PromotionKind.AMOUNT_OFF, amount=pln(150)),
            "8.50",
            "8.50",
            "Taniej o 1,50\xa0zł",
            1,
        ),
        (promotion(PromotionKind.FIXED_PRICE, amount=pln(799)), "7.99", "7.99", "Promocja", 1),
        (
            promotion(PromotionKind.MULTI_BUY, amount=pln(1800), quantity=2),
            "10.00",
            "9.00",
            "2 za 18\xa0zł",
            2,
        ),
        (
            promotion(PromotionKind.BUY_N_GET_M, quantity=2, free_quantity=1),
            "10.00",
            "6.67",
            "2+1 gratis",
            3,
        ),
        (
            promotion(PromotionKind.LOYALTY_PRICE, amount=pln(899)),
            "10.00",
            "8.99",
            "Z kartą 8,99\xa0zł",
            1,
        ),
    ],
)
def test_each_promotion_kind_sets_price_text_and_effective_unit_price(
    promo: Promotion, price: str, effective: str, text: str, min_quantity: int
) -> None:
    resolved = price_of(build(BASE_10, [promo]), ledger=TEN_FOR_MONTHS)
    assert resolved.regular_price == pln(1000)
    assert resolved.price.amount == Decimal(price)
    assert resolved.promotion is not None
    assert resolved.promotion.text == text
    assert resolved.promotion.effective_unit_price.amount == Decimal(effective)
    assert resolved.promotion.min_quantity == min_quantity
    assert resolved.promotion.loyalty_only is (promo.kind is PromotionKind.LOYALTY_PRICE)


@pytest.mark.parametrize(
    "promo",
    [
        promotion(PromotionKind.PERCENT_OFF, percent=Decimal(25)),
        promotion(PromotionKind.AMOUNT_OFF, amount=pln(150)),
    ],
)
def test_a_reduction_without_a_known_prior_price_is_not_announced(promo: Promotion) -> None:
    resolved = price_of(build(BASE_10, [promo]))  # the ledger knows no earlier price
    assert resolved.price < resolved.regular_price
    assert resolved.prior_price is None
    assert resolved.promotion is not None
    assert resolved.promotion.text is None
    assert not resolved.announces_reduction


def test_a_reduction_is_announced_against_the_prior_price_not_the_regular_price() -> None:
    # 10.00 for months, 8.00 for a week ending 10 days ago, now "-25%" off 10.00 = 7.50:
    # the saving against the 30-day low of 8.00 is 6 %, not 25 %.
    key = PriceKey("A", Channel.STORE, "S1")
    ledger = PriceLedger(
        [
            *TEN_FOR_MONTHS.entries(key),
            LedgerEntry(
                key=key,
                effective_from=T0 - timedelta(days=17),
                price=pln(800),
                regular_price=pln(1000),
            ),
            LedgerEntry(
                key=key,
                effective_from=T0 - timedelta(days=10),
                price=pln(1000),
                regular_price=pln(1000),
            ),
        ]
    )
    resolved = price_of(
        build(BASE_10, [promotion(PromotionKind.PERCENT_OFF, percent=Decimal(25))]), ledger=ledger
    )
    assert resolved.price == pln(750)
    assert resolved.prior_price == pln(800)
    assert resolved.saving_percent == Decimal(6)
    assert resolved.promotion is not None
    assert resolved.promotion.text == "-6%"


def test_conditional_offers_show_no_prior_price_because_nothing_is_reduced() -> None:
    resolved = price_of(
        build(BASE_10, [promotion(PromotionKind.MULTI_BUY, amount=pln(1800), quantity=2)])
    )
    assert resolved.price == resolved.regular_price
    assert (resolved.prior_price, resolved.saving, resolved.saving_percent) == (None, None, None)


def test_english_label_texts() -> None:
    promo = promotion(PromotionKind.MULTI_BUY, amount=pln(1800), quantity=2)
    resolved = price_of(build(BASE_10, [promo]), locale="en_GB")
    assert resolved.promotion is not None
    assert resolved.promotion.text == "2 for PLN\xa018"
    assert resolved.unit_label == "1 kg"


@pytest.mark.parametrize(
    ("locale", "multi_buy", "amount_off", "unit"),
    [
        ("pl_PL", "2 za 18\xa0zł", "Taniej o 1,50\xa0zł", "1 kg"),
        ("en_GB", "2 for PLN\xa018", "PLN\xa01.50 off", "1 kg"),
        ("de_DE", "2 für 18\xa0PLN", "1,50\xa0PLN billiger", "1 kg"),
    ],
)
def test_every_documented_locale_writes_its_label_texts(
    locale: str, multi_buy: str, amount_off: str, unit: str
) -> None:
    offer = price_of(
        build(BASE_10, [promotion(PromotionKind.MULTI_BUY, amount=pln(1800), quantity=2)]),
        locale=locale,
    )
    cut = price_of(
        build(BASE_10, [promotion(PromotionKind.AMOUNT_OFF, amount=pln(150))]),
        ledger=TEN_FOR_MONTHS,
        locale=locale,
    )
    assert offer.promotion is not None
    assert cut.promotion is not None
    assert (offer.promotion.text, cut.promotion.text, offer.unit_label) == (
        multi_buy,
        amount_off,
        unit,
    )


def test_a_hundred_percent_off_is_free_not_negative() -> None:
    resolved = price_of(
        build(BASE_10, [promotion(PromotionKind.PERCENT_OFF, percent=Decimal(100))])
    )
    assert resolved.price == pln(0)


def test_promotions_apply_only_inside_their_window_channels_and_stores() -> None:
    promo = promotion(
        PromotionKind.PERCENT_OFF,
        percent=Decimal(10),
        channels=frozenset({Channel.APP}),
        zones=frozenset({"south"}),
        stores=frozenset({"S1"}),
        valid_from=T0,
        valid_until=T0 + timedelta(days=7),
    )
    catalogue = build(BASE_10, [promo])
    applies = price_of(catalogue, channel=Channel.APP, store="S3", at=timedelta(days=1))
    assert applies.price == pln(900)
    assert price_of(catalogue, channel=Channel.APP, store="S1").price == pln(900)
    assert price_of(catalogue, channel=Channel.APP, store="S2").promotion is None
    assert price_of(catalogue, channel=Channel.STORE, store="S3").promotion is None
    assert (
        price_of(catalogue, channel=Channel.APP, store="S3", at=timedelta(days=7)).promotion is None
    )
    assert (
        price_of(catalogue, channel=Channel.APP, store="S3", at=-timedelta(seconds=1)).promotion
        is None
    )


def test_category_promotions_reach_every_sku_of_the_category() -> None:
    promo = percent_off_sale(
        "bread", 50, name="Pieczywo", skus=frozenset(), categories=frozenset({"bread"})
    )
    catalogue = build([*BASE_10, PriceRule(id="b", sku="B", amount=pln(400))], [promo])
    assert price_of(catalogue, sku="B").price == pln(200)
    assert price_of(catalogue, sku="A").promotion is None


def test_the_best_price_for_the_customer_wins_without_stacking() -> None:
    catalogue = build(
        BASE_10,
        [
            promotion(PromotionKind.PERCENT_OFF, id="ten", percent=Decimal(10), priority=5),
            promotion(PromotionKind.AMOUNT_OFF, id="two-zl", amount=pln(200)),
            promotion(PromotionKind.PERCENT_OFF, id="five", percent=Decimal(5), priority=9),
        ],
    )
    resolved = price_of(catalogue)
    assert resolved.promotion is not None
    assert resolved.promotion.id == "two-zl"
    assert resolved.price == pln(800)  # not 10 % and 2 zł and 5 % together


def test_an_exclusive_promotion_shuts_out_better_non_exclusive_ones() -> None:
    catalogue = build(
        BASE_10,
        [
            promotion(PromotionKind.PERCENT_OFF, id="deep", percent=Decimal(40)),
            promotion(
                PromotionKind.PERCENT_OFF, id="excl-low", percent=Decimal(30), exclusive=True
            ),
            promotion(
                PromotionKind.PERCENT_OFF,
                id="excl-high",
                percent=Decimal(5),
                exclusive=True,
                priority=2,
            ),
        ],
    )
    resolved = price_of(catalogue)
    assert resolved.promotion is not None
    assert resolved.promotion.id == "excl-high"  # highest-priority exclusive, then best price
    assert resolved.price == pln(950)


def test_equal_prices_prefer_the_unconditional_offer_then_priority() -> None:
    catalogue = build(
        BASE_10,
        [
            promotion(PromotionKind.LOYALTY_PRICE, id="card", amount=pln(800), priority=9),
            promotion(PromotionKind.FIXED_PRICE, id="shelf-low", amount=pln(800), priority=1),
            promotion(PromotionKind.AMOUNT_OFF, id="shelf-high", amount=pln(200), priority=3),
        ],
    )
    resolved = price_of(catalogue)
    assert resolved.promotion is not None
    assert resolved.promotion.id == "shelf-high"


def test_a_multi_buy_that_beats_a_shelf_reduction_leaves_the_single_unit_at_regular_price() -> None:
    catalogue = build(
        BASE_10,
        [
            promotion(PromotionKind.PERCENT_OFF, percent=Decimal(10)),
            promotion(PromotionKind.MULTI_BUY, amount=pln(1000), quantity=2),
        ],
    )
    resolved = price_of(catalogue)
    assert resolved.promotion is not None
    assert resolved.promotion.kind is PromotionKind.MULTI_BUY
    assert resolved.price == pln(1000)


def product(sku: str, content: str, unit: NetUnit, *, per_100: bool = False) -> Product:
    return Product(
        sku=sku,
        name=sku,
        brand="x",
        gtin="",
        category="c",
        vat_rate=Decimal(5),
        net_content=Decimal(content),
        net_unit=unit,
        perishable=False,
        on_sale_since=T0 - timedelta(days=100),
        unit_price_per_100=per_100,
    )


@pytest.mark.parametrize(
    ("content", "unit", "per_100", "price", "unit_price", "label"),
    [
        ("500", NetUnit.G, False, 649, "12.98", "1 kg"),
        ("0.75", NetUnit.KG, False, 999, "13.32", "1 kg"),
        ("330", NetUnit.ML, False, 399, "12.09", "1 litr"),
        ("1.5", NetUnit.L, False, 249, "1.66", "1 litr"),
        ("20", NetUnit.M, False, 1299, "0.65", "1 m"),
        ("6", NetUnit.PCS, False, 1299, "2.17", "1 szt."),
        ("140", NetUnit.G, True, 749, "5.35", "100 g"),
        ("0.5", NetUnit.L, True, 600, "1.20", "100 ml"),
        ("1", NetUnit.KG, False, 449, None, None),  # equals the price: omitted
        ("1", NetUnit.PCS, False, 79, None, None),
        ("100", NetUnit.G, True, 549, None, None),
    ],
)
def test_unit_prices_are_computed_from_net_content_and_omitted_when_equal(
    content: str,
    unit: NetUnit,
    per_100: bool,
    price: int,
    unit_price: str | None,
    label: str | None,
) -> None:
    catalogue = Catalogue(
        products=[product("U", content, unit, per_100=per_100)],
        stores=STORES,
        rules=[PriceRule(id="u", sku="U", amount=pln(price))],
        currency="PLN",
    )
    resolved = price_of(catalogue, sku="U")
    assert (resolved.unit_price.amount if resolved.unit_price else None) == (
        Decimal(unit_price) if unit_price else None
    )
    assert resolved.unit_label == label


def test_the_unit_price_follows_the_reduced_price() -> None:
    resolved = price_of(build(BASE_10, [promotion(PromotionKind.PERCENT_OFF, percent=Decimal(50))]))
    assert resolved.unit_price == pln(1000)  # 5.00 PLN for 500 g


def test_fingerprints_are_stable_and_change_only_with_label_visible_fields() -> None:
    rules_a = [PriceRule(id="one", sku="A", amount=pln(1000))]
    rules_b = [PriceRule(id="other-id", sku="A", amount=pln(1000), channel=Channel.STORE)]
    first = price_of(build(rules_a))
    same_label = price_of(build(rules_b), store="S3", at=timedelta(days=3))
    assert first.fingerprint == same_label.fingerprint  # rule id, store and instant are not shown
    assert len(first.fingerprint) == 32
    dearer = price_of(build([PriceRule(id="one", sku="A", amount=pln(1001))]))
    assert dearer.fingerprint != first.fingerprint


def test_resolve_many_matches_resolve_key_by_key() -> None:
    catalogue = build(ALL_SCOPES, [promotion(PromotionKind.PERCENT_OFF, percent=Decimal(10))])
    keys = [PriceKey("A", channel, store) for channel in Channel for store in ("S1", "S2", "S3")]
    ledger = PriceLedger()
    bulk = resolve_many(catalogue, keys=keys, at=T0, ledger=ledger, locale="pl_PL")
    assert list(bulk) == keys
    for key in keys:
        assert bulk[key] == resolve_key(catalogue, key, at=T0, ledger=ledger, locale="pl_PL")


def test_fingerprints_are_the_same_in_another_process() -> None:
    # str hashes are salted per process; a fingerprint must not depend on them.
    code = (
        "from tests.pricing.test_resolution import build, price_of, BASE_10, promotion;"
        "from tests.strategies import pln; from pricing import PromotionKind;"
        "print(price_of(build(BASE_10, [promotion(PromotionKind.MULTI_BUY, amount=pln(1800),"
        " quantity=2)])).fingerprint)"
    )
    here = price_of(
        build(BASE_10, [promotion(PromotionKind.MULTI_BUY, amount=pln(1800), quantity=2)])
    ).fingerprint
    there = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
        env={**os.environ, "PYTHONHASHSEED": "12345"},
    ).stdout.strip()
    assert there == here


def test_a_category_promotion_added_later_reaches_prices_resolved_before() -> None:
    before = build([PriceRule(id="b", sku="B", amount=pln(400))])
    ledger = PriceLedger()
    assert price_of(before, sku="B", ledger=ledger).price == pln(400)  # memoised now
    promo = percent_off_sale(
        "bread", 25, name="Pieczywo", skus=frozenset(), categories=frozenset({"bread"})
    )
    after = before.with_changes(promotions=[promo])
    assert price_of(after, sku="B", ledger=ledger).price == pln(300)
    assert price_of(before, sku="B", ledger=ledger).price == pln(400)


def test_labels_in_two_languages_do_not_mix() -> None:
    catalogue = build(BASE_10)
    assert price_of(catalogue).unit_label == "1 kg"
    pieces = Catalogue(
        products=[product("P", "6", NetUnit.PCS)],
        stores=STORES,
        rules=[PriceRule(id="p", sku="P", amount=pln(600))],
        currency="PLN",
    )
    for _ in range(2):
        assert price_of(pieces, sku="P").unit_label == "1 szt."
        assert price_of(pieces, sku="P", locale="en_GB").unit_label == "1 pc"


@pytest.mark.parametrize(
    ("net_grams", "regular_cents", "offer", "per_kg_cents"),
    [
        # 3 for 10 zł: an item is 3.3333 zł, a kg of 500 g packs 6.6667 zł (not 3.33 x 2).
        (500, 400, promotion(PromotionKind.MULTI_BUY, quantity=3, amount=pln(1000)), 667),
        # 2+1 free at 1.00 zł: an item is 0.6667 zł, a kg of 250 g packs 2.6667 zł (not 2.68).
        (250, 100, promotion(PromotionKind.BUY_N_GET_M, quantity=2, free_quantity=1), 267),
    ],
)
def test_an_offer_unit_price_is_computed_from_the_bundle_share_and_rounded_once(
    net_grams: int, regular_cents: int, offer: Promotion, per_kg_cents: int
) -> None:
    base = pricing_product("A")
    product = Product(
        **{**{f: getattr(base, f) for f in Product.__slots__}, "net_content": Decimal(net_grams)}
    )
    catalogue = pln_catalogue(
        [PriceRule(id="r", sku="A", amount=pln(regular_cents))], [offer], products=[product]
    )
    label = shelf_price(catalogue, at=PRICING_EPOCH)
    assert label.promotion is not None
    assert label.promotion.offer_unit_price == pln(per_kg_cents)
