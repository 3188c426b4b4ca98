"""The Omnibus prior price, worked through the cases the law and the regulator name.

Each case builds the catalogue's history as dated rules and promotions, replays it into
the ledger as a controller updating labels on time would, and reads the label on day 0.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from pricing import (
    Channel,
    LedgerEntry,
    Money,
    PriceKey,
    PriceLedger,
    PriceRule,
    PriorPriceBasis,
    Product,
    Promotion,
    PromotionKind,
    ResolvedPrice,
    Store,
    omnibus_prior_price,
)
from pricing.errors import CurrencyMismatchError, LedgerOrderError
from pricing.replay import replay_history
from tests.strategies import PRICING_EPOCH, pln, pricing_product
from tests.support.pricing import (
    ONE_STORE,
    fixed_price_sale,
    percent_off_sale,
    pln_catalogue,
    shelf_price,
)

DAY0 = PRICING_EPOCH
KEY = PriceKey("A", Channel.STORE, "S1")


def day(n: float) -> datetime:
    return DAY0 + timedelta(days=n)


def label_on(
    *,
    rules: list[PriceRule],
    promotions: list[Promotion],
    product: Product | None = None,
    at: datetime = DAY0,
) -> tuple[ResolvedPrice, PriceLedger]:
    catalogue = pln_catalogue(rules, promotions, products=[product or pricing_product("A")])
    ledger = PriceLedger()
    replay_history(catalogue, ledger=ledger, since=day(-90), until=at, locale="pl_PL")
    return shelf_price(catalogue, at=at, ledger=ledger), ledger


def _promotion(
    pid: str, kind: PromotionKind, start: float, end: float | None, **value: Decimal
) -> Promotion:
    return Promotion(
        id=pid,
        name=pid,
        kind=kind,
        skus=frozenset({"A"}),
        valid_from=day(start),
        valid_until=day(end) if end is not None else None,
        **value,
    )


def percent_off(pid: str, percent: int, start: float, end: float | None = None) -> Promotion:
    return percent_off_sale(
        pid, percent, valid_from=day(start), valid_until=day(end) if end is not None else None
    )


def fixed(pid: str, cents: int, start: float, end: float | None = None) -> Promotion:
    return _promotion(pid, PromotionKind.FIXED_PRICE, start, end, amount=pln(cents))


def raised_at(n: float, *, before: int, after: int) -> list[PriceRule]:
    return [
        PriceRule(id="before", sku="A", amount=pln(before), valid_until=day(n)),
        PriceRule(id="after", sku="A", amount=pln(after), valid_from=day(n)),
    ]


@pytest.mark.parametrize(
    ("rise_day", "prior", "saving", "saving_percent"),
    [
        # Within the 30 days: the saving counts from the price before the rise, 10 %, not
        # the 25 % printed in the promotion.
        pytest.param(-20, 1000, 100, 10, id="a rise within 30 days is not the prior price"),
        pytest.param(-31, 1200, 300, 25, id="a rise older than 30 days is the prior price"),
    ],
)
def test_raised_then_reduced_the_saving_counts_from_the_30_day_low(
    rise_day: int, prior: int, saving: int, saving_percent: int
) -> None:
    # 10.00 for months, 12.00 from `rise_day`, then "-25%" from day 0: 9.00.
    label, _ = label_on(
        rules=raised_at(rise_day, before=1000, after=1200),
        promotions=[percent_off("sale", 25, 0, 7)],
    )
    assert label.regular_price == pln(1200)
    assert label.price == pln(900)
    assert label.prior_price == pln(prior)
    assert label.saving == pln(saving)
    assert label.saving_percent == Decimal(saving_percent)


def test_the_price_in_force_when_the_window_opens_counts() -> None:
    # Lowered to 9.50 on day -45, back to 11.00 on day -29: 9.50 still applied on day -30.
    rules = [
        PriceRule(id="r0", sku="A", amount=pln(1100), valid_until=day(-45)),
        PriceRule(id="r1", sku="A", amount=pln(950), valid_from=day(-45), valid_until=day(-29)),
        PriceRule(id="r2", sku="A", amount=pln(1100), valid_from=day(-29)),
    ]
    label, _ = label_on(rules=rules, promotions=[fixed("sale", 900, 0)])
    assert label.prior_price == pln(950)


def test_a_product_new_for_ten_days_uses_its_prices_since_it_went_on_sale() -> None:
    product = Product(
        **{
            **{f: getattr(pricing_product("A"), f) for f in Product.__slots__},
            "on_sale_since": day(-10),
        }
    )
    # A launch price of 12.00 from day -10, briefly 11.00 on days -5..-3, reduced on day 0.
    rules = [
        PriceRule(id="launch", sku="A", amount=pln(1200), valid_from=day(-10), valid_until=day(-5)),
        PriceRule(id="dip", sku="A", amount=pln(1100), valid_from=day(-5), valid_until=day(-3)),
        PriceRule(id="regular", sku="A", amount=pln(1200), valid_from=day(-3)),
    ]
    label, ledger = label_on(rules=rules, promotions=[fixed("intro", 899, 0)], product=product)
    assert ledger.entries(KEY)[0].effective_from == day(-10)
    assert label.prior_price == pln(1100)
    assert label.saving == pln(201)


def test_prices_recorded_before_a_product_went_on_sale_do_not_count() -> None:
    product = Product(
        **{
            **{f: getattr(pricing_product("A"), f) for f in Product.__slots__},
            "on_sale_since": day(-10),
        }
    )
    ledger = PriceLedger(
        [
            LedgerEntry(key=KEY, effective_from=day(-20), price=pln(500), regular_price=pln(500)),
            LedgerEntry(key=KEY, effective_from=day(-10), price=pln(1200), regular_price=pln(1200)),
        ]
    )
    prior = omnibus_prior_price(
        ledger,
        key=KEY,
        reduction_started=DAY0,
        on_sale_since=product.on_sale_since,
        perishable=False,
        currency="PLN",
    )
    assert prior is not None
    assert prior.price == pln(1200)


LAUNCH = day(-5) + timedelta(hours=1)


@pytest.mark.parametrize("perishable", [False, True])
def test_a_re_used_sku_counts_only_its_new_products_prices(perishable: bool) -> None:
    """The SKU sold another product at 4.99 until day -5, when it was re-used
    (`ledger_since`, `on_sale_since`): the 4.99 in force then is not the new product's,
    so its introductory 1.99 an hour later has no prior price, and a reduction to 1.79 on
    day 0 after a 2.49 from day -2 is compared with its own prices only."""
    ledger = PriceLedger(
        [
            LedgerEntry(key=KEY, effective_from=day(-40), price=pln(499), regular_price=pln(499)),
            LedgerEntry(key=KEY, effective_from=LAUNCH, price=pln(199), regular_price=pln(249)),
            LedgerEntry(key=KEY, effective_from=day(-2), price=pln(249), regular_price=pln(249)),
        ]
    )

    def prior(started: datetime) -> Money | None:
        found = omnibus_prior_price(
            ledger,
            key=KEY,
            reduction_started=started,
            on_sale_since=day(-5),
            perishable=perishable,
            currency="PLN",
            ledger_since=day(-5),
        )
        return found.price if found is not None else None

    assert prior(LAUNCH) is None
    # Perishable: the price before the first reduction, 2.49, the regular price since
    # launch (the introductory 1.99 was a reduction from it, an earlier run).
    assert prior(DAY0) == (pln(249) if perishable else pln(199))
    # Without the re-use the old product's 4.99, in force on day -5, would count.
    without_reuse = omnibus_prior_price(
        ledger,
        key=KEY,
        reduction_started=LAUNCH,
        on_sale_since=day(-5),
        perishable=perishable,
        currency="PLN",
    )
    assert without_reuse is not None
    assert without_reuse.price == pln(499)


def perishable_product() -> Product:
    return pricing_product("A", perishable=True)


def test_a_perishable_product_reduced_twice_shows_the_price_before_the_first_reduction() -> None:
    # 4.00 regular; -20 % from day -3 (3.20); short-dated 2.00 from day 0.
    promotions = [percent_off("first", 20, -3, 0), fixed("second", 200, 0, 2)]
    rules = [PriceRule(id="r", sku="A", amount=pln(400))]
    label, _ = label_on(rules=rules, promotions=promotions, product=perishable_product())
    assert label.price == pln(200)
    assert label.prior_price == pln(400)
    assert label.saving == pln(200)
    assert label.saving_percent == Decimal(50)
    # The same history for a product that keeps: the 30-day low includes the 3.20.
    keeping, _ = label_on(rules=rules, promotions=promotions)
    assert keeping.prior_price == pln(320)
    assert keeping.saving_percent == Decimal(37)  # 1.20 / 3.20 = 37.5 %, never rounded up


# Milk 4.00 for months; 2.00 from day -3; 3.00 from day 0; 1.50 from day 1.
MILK_REGULAR = [PriceRule(id="r", sku="A", amount=pln(400))]
MILK_DOWN_THEN_UP = [fixed("down", 200, -3, 0), fixed("up", 300, 0, 1), fixed("new", 150, 1, 5)]


def _milk_prepared_and_applied(at: datetime) -> list[ResolvedPrice]:
    """The perishable milk's label for `at`, prepared before the ledger holds `at`'s entry
    and read again once it does: both must say the same."""
    catalogue = pln_catalogue(MILK_REGULAR, MILK_DOWN_THEN_UP, products=[perishable_product()])
    ledger = PriceLedger()
    before = at - timedelta(hours=1)
    replay_history(catalogue, ledger=ledger, since=day(-90), until=before, locale="pl_PL")
    prepared = shelf_price(catalogue, at=at, ledger=ledger)
    replay_history(catalogue, ledger=ledger, since=at, until=at, locale="pl_PL")
    applied = ledger.entry_at(KEY, at)
    assert applied is not None
    assert applied.effective_from == at
    return [prepared, shelf_price(catalogue, at=at, ledger=ledger)]


def test_a_perishable_price_raised_during_its_markdown_is_not_announced_as_a_reduction() -> None:
    # 2.00 yesterday, 3.00 today: the price went up. The rise ends the run of reductions,
    # so the "price before the first reduction" (4.00) is no longer the prior price (PL
    # art. 4 ust. 4 is about a run of reductions): the 30-day low, 2.00, is, and 3.00
    # saves nothing against it. It used to read "Cena sprzed pierwszej obniżki: 4,00 zł".
    for label in _milk_prepared_and_applied(DAY0):
        assert (label.price, label.regular_price) == (pln(300), pln(400))
        assert label.prior_price == pln(200)
        assert label.prior_price_basis is PriorPriceBasis.LOWEST_30_DAYS
        assert (label.saving, label.saving_percent) == (pln(0), Decimal(0))
        assert not label.announces_reduction


def test_a_perishable_reduction_after_a_rise_is_announced_against_the_thirty_day_low() -> None:
    # 1.50 from day 1, after 3.00 on day 0: a new reduction, and 3.00 is the price before
    # it; but 2.00 was charged three days before. Announced against 3.00 (50 %) the rise
    # would be a way round the 30 days (raise, then reduce); the perishable option is for
    # a run announced against the price before it, so the 30-day low, 2.00, is shown, as
    # for a product that keeps.
    for label in _milk_prepared_and_applied(day(1)):
        assert label.price == pln(150)
        assert label.prior_price == pln(200)
        assert label.prior_price_basis is PriorPriceBasis.LOWEST_30_DAYS
        assert (label.saving, label.saving_percent) == (pln(50), Decimal(25))
    keeping, _ = label_on(rules=MILK_REGULAR, promotions=MILK_DOWN_THEN_UP, at=day(1))
    assert (keeping.prior_price, keeping.prior_price_basis) == (
        pln(200),
        PriorPriceBasis.LOWEST_30_DAYS,
    )


def test_a_perishable_price_raised_and_taken_back_announces_nothing() -> None:
    # 4.00; 2.00 from day -10; 3.00 from day -5; 2.00 again from day 0: "33 % off 3.00"
    # for the price shoppers paid a week ago.
    promotions = [fixed("down", 200, -10, -5), fixed("up", 300, -5, 0), fixed("back", 200, 0, 5)]
    label, _ = label_on(
        rules=MILK_REGULAR, promotions=promotions, product=perishable_product(), at=DAY0
    )
    assert label.price == pln(200)
    assert label.prior_price == pln(200)
    assert not label.announces_reduction


def test_a_perishable_run_after_an_old_rise_keeps_the_price_before_its_first_reduction() -> None:
    # The list price went from 3.00 to 4.00 forty days ago: the run of reductions from
    # day -3 (3.20, then 2.00) is announced against 4.00, the price before it, which was
    # the lowest of the 30 days before the run began.
    rules = raised_at(-40, before=300, after=400)
    promotions = [fixed("first", 320, -3, 0), fixed("second", 200, 0, 5)]
    label, _ = label_on(rules=rules, promotions=promotions, product=perishable_product(), at=DAY0)
    assert (label.prior_price, label.prior_price_basis) == (
        pln(400),
        PriorPriceBasis.BEFORE_FIRST_REDUCTION,
    )


def test_a_perishable_run_after_a_recent_list_rise_shows_the_thirty_day_low() -> None:
    # 3.50 until day -10, then 4.00; reduced to 3.20 from day -3 and 2.00 from day 0:
    # 4.00 was raised within the 30 days before the run began, so the run is announced
    # against the 30-day low of now (3.20), never against 4.00.
    rules = raised_at(-10, before=350, after=400)
    promotions = [fixed("first", 320, -3, 0), fixed("second", 200, 0, 5)]
    label, _ = label_on(rules=rules, promotions=promotions, product=perishable_product(), at=DAY0)
    assert (label.prior_price, label.prior_price_basis) == (
        pln(320),
        PriorPriceBasis.LOWEST_30_DAYS,
    )


@pytest.mark.parametrize(
    ("first_week_from", "prior", "saving", "saving_percent"),
    [(-20, 800, 0, 0), (-40, 1000, 200, 20)],
    ids=["restarted-within-thirty-days-saves-nothing", "restarted-after-thirty-days-saves-again"],
)
def test_a_promotion_that_ends_and_restarts_saves_only_against_the_thirty_days_before(
    first_week_from: int, prior: int, saving: int, saving_percent: int
) -> None:
    rules = [PriceRule(id="r", sku="A", amount=pln(1000))]
    first_week = fixed("week-1", 800, first_week_from, first_week_from + 7)
    label, _ = label_on(rules=rules, promotions=[first_week, fixed("week-2", 800, 0, 7)])
    assert label.price == pln(800)
    assert label.prior_price == pln(prior)
    assert label.saving == pln(saving)
    assert label.saving_percent == Decimal(saving_percent)


def test_the_prior_price_stays_put_while_the_reduction_lasts() -> None:
    rules = raised_at(-20, before=1000, after=1200)
    promotions = [percent_off("sale", 25, 0, 40)]
    first, _ = label_on(rules=rules, promotions=promotions, at=DAY0)
    later, _ = label_on(rules=rules, promotions=promotions, at=day(35))
    # 35 days in, the 10.00 is long out of any 30-day window counted from *today*; the
    # reduction started on day 0, so the label does not change.
    assert later.prior_price == first.prior_price == pln(1000)
    assert later.fingerprint == first.fingerprint


def test_a_reduction_not_yet_in_the_ledger_starts_at_the_instant_resolved() -> None:
    catalogue = pln_catalogue(
        raised_at(-20, before=1000, after=1200), [percent_off("sale", 25, 0, 7)]
    )
    ledger = PriceLedger()
    replay_history(catalogue, ledger=ledger, since=day(-90), until=day(-1), locale="pl_PL")
    label = shelf_price(catalogue, at=DAY0, ledger=ledger)
    assert label.prior_price == pln(1000)
    entry = ledger.record(label)
    assert entry is not None
    assert entry.promotion_id == "sale"
    assert ledger.record(label) is None  # the same price again appends nothing


def test_without_any_history_no_prior_price_is_invented() -> None:
    catalogue = pln_catalogue(
        [PriceRule(id="r", sku="A", amount=pln(1000))], [percent_off("sale", 10, -1)]
    )
    label = shelf_price(catalogue, at=DAY0)
    assert label.price == pln(900)
    assert (label.prior_price, label.saving, label.saving_percent) == (None, None, None)


def test_each_store_has_its_own_thirty_day_low() -> None:
    catalogue = pln_catalogue(
        [
            PriceRule(id="r", sku="A", amount=pln(1000)),
            PriceRule(
                id="s2-dip",
                sku="A",
                amount=pln(850),
                store="S2",
                valid_from=day(-10),
                valid_until=day(-5),
            ),
        ],
        [fixed("sale", 800, 0, 7)],
        stores=[*ONE_STORE, Store("S2", "Dwa", None)],
    )
    ledger = PriceLedger()
    replay_history(catalogue, ledger=ledger, since=day(-90), until=DAY0, locale="pl_PL")
    s1 = shelf_price(catalogue, at=DAY0, ledger=ledger)
    s2 = shelf_price(catalogue, at=DAY0, ledger=ledger, store="S2")
    assert (s1.prior_price, s2.prior_price) == (pln(1000), pln(850))


def test_the_ledger_never_rewrites_the_past() -> None:
    ledger = PriceLedger(
        [LedgerEntry(key=KEY, effective_from=DAY0, price=pln(1000), regular_price=pln(1000))]
    )
    for earlier in (DAY0, day(-1)):
        with pytest.raises(LedgerOrderError) as error:
            ledger.append(
                LedgerEntry(key=KEY, effective_from=earlier, price=pln(1), regular_price=pln(1))
            )
        assert error.value.fields["sku"] == "A"
        # In words, not the key's repr (PriceKey(sku='A', channel=<Channel.STORE: ...).
        assert error.value.message.startswith("A in store S1 (store channel): the ledger")
        assert error.value.fields["channel"] == "store"
    assert ledger.entries(KEY) == (
        LedgerEntry(key=KEY, effective_from=DAY0, price=pln(1000), regular_price=pln(1000)),
    )


def test_a_later_catalogue_change_does_not_change_a_computed_history() -> None:
    rules = [PriceRule(id="r", sku="A", amount=pln(1000))]
    promotions = [fixed("week-1", 800, -20, -13), fixed("week-2", 800, 0, 7)]
    catalogue = pln_catalogue(rules, promotions)
    ledger = PriceLedger()
    replay_history(catalogue, ledger=ledger, since=day(-90), until=DAY0, locale="pl_PL")
    # Someone deletes the first week's promotion from the catalogue afterwards: what
    # customers were shown during it stays in the ledger and still counts.
    edited = catalogue.with_changes(removed_promotion_ids=["week-1"])
    label = shelf_price(edited, at=DAY0, ledger=ledger)
    assert label.prior_price == pln(800)


# ------------------------------------------------------- the same amount, not a reduction


def test_a_promotion_at_the_regular_price_customers_paid_before_announces_nothing() -> None:
    # 10.00 for months, 8.00 as the ordinary price from day -20; on day -10 the regular
    # price goes back to 10.00 with a "fixed 8.00" promotion. Customers paid 8.00 from
    # day -20 on: the reduction began on day -10 and its 30 days hold 8.00.
    rules = [
        PriceRule(id="old", sku="A", amount=pln(1000), valid_until=day(-20)),
        PriceRule(id="cut", sku="A", amount=pln(800), valid_from=day(-20), valid_until=day(-10)),
        PriceRule(id="back", sku="A", amount=pln(1000), valid_from=day(-10)),
    ]
    label, _ = label_on(rules=rules, promotions=[fixed("sale", 800, -10, 20)])
    assert (label.price, label.regular_price) == (pln(800), pln(1000))
    assert label.prior_price == pln(800)
    assert not label.announces_reduction
    assert label.promotion is not None
    assert label.promotion.text is None


def test_a_list_price_raised_with_a_promotion_at_the_old_price_is_not_a_reduction() -> None:
    # The fake discount the rule is written against: 8.00 for 60 days, then on day 0 the
    # list price becomes 10.00 and a "fixed 8.00" promotion starts at the same instant.
    # The label prepared for day 0 (the ledger still ends on day -1) announces nothing.
    rules = [
        PriceRule(id="old", sku="A", amount=pln(1000), valid_until=day(-60)),
        PriceRule(id="cut", sku="A", amount=pln(800), valid_from=day(-60), valid_until=DAY0),
        PriceRule(id="up", sku="A", amount=pln(1000), valid_from=DAY0),
    ]
    catalogue = pln_catalogue(rules, [fixed("sale", 800, 0, 14)])
    ledger = PriceLedger()
    replay_history(catalogue, ledger=ledger, since=day(-120), until=day(-1), locale="pl_PL")
    prepared = shelf_price(catalogue, at=DAY0, ledger=ledger)
    replay_history(catalogue, ledger=ledger, since=DAY0, until=day(1), locale="pl_PL")
    applied = shelf_price(catalogue, at=day(1), ledger=ledger)
    for label in (prepared, applied):
        assert (label.price, label.regular_price) == (pln(800), pln(1000))
        assert label.prior_price == pln(800)
        assert not label.announces_reduction


def test_a_perishable_product_compares_with_the_price_just_before_the_reduction() -> None:
    # As above for a perishable product: the price before the first reduction (PL art. 4
    # ust. 4) is the 8.00 charged until day -10, not the 10.00 of three weeks ago.
    rules = [
        PriceRule(id="old", sku="A", amount=pln(1000), valid_until=day(-20)),
        PriceRule(id="cut", sku="A", amount=pln(800), valid_from=day(-20), valid_until=day(-10)),
        PriceRule(id="back", sku="A", amount=pln(1000), valid_from=day(-10)),
    ]
    label, _ = label_on(
        rules=rules,
        promotions=[fixed("sale", 800, -10, 20)],
        product=pricing_product("A", perishable=True),
    )
    assert label.prior_price == pln(800)
    assert not label.announces_reduction


# ------------------------------------------------------------- launched with a reduction


def _launched_on(when: datetime, *, perishable: bool = False) -> Product:
    base = pricing_product("A", perishable=perishable)
    return Product(**{**{f: getattr(base, f) for f in Product.__slots__}, "on_sale_since": when})


@pytest.mark.parametrize("perishable", [False, True])
def test_a_product_launched_with_an_introductory_price_has_no_prior_price(
    perishable: bool,
) -> None:
    # The price list (12.00) was loaded on day -5; the product went on sale on day 0 at
    # an introductory 9.99. It was never sold at 12.00: there is nothing to compare with.
    label, ledger = label_on(
        rules=[PriceRule(id="list", sku="A", amount=pln(1200), valid_from=day(-5))],
        promotions=[fixed("intro", 999, 0, 14)],
        product=_launched_on(DAY0, perishable=perishable),
    )
    assert ledger.entries(KEY)[0].effective_from == day(-5)
    assert label.price == pln(999)
    assert label.prior_price is None
    assert not label.announces_reduction


def test_a_perishable_product_ignores_a_price_that_ended_before_its_launch() -> None:
    # The list price 15.00 was recorded on day -20; the product went on sale on day -10
    # at an introductory 12.00 and is reduced further on day 0. The "price before the
    # first reduction" is 15.00, which no customer was ever charged: the prior price is
    # the lowest since the launch, 12.00.
    ledger = PriceLedger(
        [
            LedgerEntry(KEY, day(-20), pln(1500), pln(1500)),
            LedgerEntry(KEY, day(-10), pln(1200), pln(1500)),
        ]
    )
    prior = omnibus_prior_price(
        ledger,
        key=KEY,
        reduction_started=DAY0,
        on_sale_since=day(-10),
        perishable=True,
        currency="PLN",
    )
    assert prior is not None
    assert prior.price == pln(1200)


# ------------------------------------------------------- currencies and time zones


def test_a_ledger_price_in_another_currency_is_refused_not_compared() -> None:
    # The ledger priced SKU A at 2.50 EUR until day -20 (ESL_CURRENCY changed since).
    # Compared as a bare number it would be the "lowest price", and the real 20 %
    # reduction from 10.00 zł would be shown against 2.50.
    ledger = PriceLedger(
        [
            LedgerEntry(KEY, day(-25), Money.of("2.50", "EUR"), Money.of("2.50", "EUR")),
            LedgerEntry(KEY, day(-20), pln(1000), pln(1000)),
        ]
    )
    catalogue = pln_catalogue(
        [PriceRule(id="r", sku="A", amount=pln(1000))], [fixed("sale", 800, 0, 7)]
    )
    with pytest.raises(CurrencyMismatchError, match="EUR"):
        shelf_price(catalogue, at=DAY0, ledger=ledger)


def test_the_thirty_days_are_elapsed_time_whatever_zone_the_instant_is_written_in() -> None:
    # A reduction from 2026-04-14 22:00 UTC (15 April 00:00 in Warsaw), 30 days after the
    # switch to summer time. A one-hour dip to 7.00 from 15 March 22:00 UTC is inside the
    # 720 hours before it; Warsaw wall-clock arithmetic would start the window an hour late.
    start = datetime(2026, 4, 14, 22, 0, tzinfo=UTC)
    ledger = PriceLedger(
        [
            LedgerEntry(KEY, datetime(2026, 1, 1, tzinfo=UTC), pln(1000), pln(1000)),
            LedgerEntry(KEY, datetime(2026, 3, 15, 21, 0, tzinfo=UTC), pln(700), pln(700)),
            LedgerEntry(KEY, datetime(2026, 3, 15, 23, 0, tzinfo=UTC), pln(1000), pln(1000)),
        ]
    )
    sale = fixed_price_sale("sale", pln(800), valid_from=start)
    catalogue = pln_catalogue([PriceRule(id="r", sku="A", amount=pln(1000))], [sale])
    in_utc = shelf_price(catalogue, at=start, ledger=ledger)
    in_warsaw = shelf_price(
        catalogue, at=start.astimezone(ZoneInfo("Europe/Warsaw")), ledger=ledger
    )
    assert in_utc.prior_price == in_warsaw.prior_price == pln(700)
    assert in_utc.fingerprint == in_warsaw.fingerprint
