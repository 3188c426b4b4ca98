"""A badge that announces a lower shelf price states no saving but the one against the
30-day prior price, whatever else it states and whatever the promotion's kind (the
reviewer's cases): "-33%, taniej o 15 zł" on a label at 20.00 against 30.00 claims a
saving of 15 beside its right percent, and "Taniej o 15 zł" claims it as much on a
percent_off or fixed_price promotion as on an amount_off one. Each was drawn before,
telling shoppers they save 15 when they save 10; now each is refused. The percentages are
taken out first and checked as before; every number left must be the saving.

Three digits after the locale's own decimal sign are no amount of a currency with two
minor digits: "1.000 CHF billiger" read as one franc on a de_CH label, although the engine
writes a thousand francs so (as de_DE does), and "£1.000 off" passed for a saving of one
pound. Both are refused now as no one number, unless the badge is the engine's own text
for the saving. The engine's badges pass for every kind, locale and saving."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pricing import (
    Catalogue,
    Channel,
    LedgerEntry,
    Money,
    PriceKey,
    PriceLedger,
    PriceRule,
    Promotion,
    PromotionKind,
    Store,
    resolve,
)
from pricing.promotions import SHELF_PRICE_KINDS
from rendering.content import LabelContent
from rendering.display_models import DISPLAY_MODELS
from rendering.errors import UnlawfulLabelError
from rendering.render import render_label
from tests.rendering.label_samples import PROMOTION, reduction_label
from tests.rendering.label_samples import announcement_problems_on as _problems
from tests.strategies import PRICING_EPOCH, pricing_product


def _ten_off(locale: str, currency: str, badge: str, *, kind: str | None) -> LabelContent:
    """Prior 30.00 (struck through), 20.00 now: the saving is 10.00, 33.33 % ("-33%")."""
    return reduction_label(locale, currency, badge, price="20.00", prior="30.00", kind=kind)


def _claims_15(badge: str, locale: str) -> str:
    return (
        f"the badge {badge!r} does not state the saving against the prior price 30.00: 10.00 "
        f"(it states 15, read as {locale} writes numbers)"
    )


@pytest.mark.parametrize(
    ("locale", "currency", "badge"),
    [
        ("pl_PL", "PLN", "-33%, taniej o 15 zł"),
        ("de_DE", "EUR", "-33% / 15 € billiger"),
        ("en_GB", "GBP", "-33%: £15 off"),
    ],
)
def test_an_amount_off_badge_with_a_right_percent_and_a_wrong_amount_is_refused(
    locale: str, currency: str, badge: str
) -> None:
    content = _ten_off(locale, currency, badge, kind="amount_off")
    # The percent is right; only the amount is refused.
    assert _problems(content) == (_claims_15(badge, locale),)
    with pytest.raises(UnlawfulLabelError):
        render_label(content, model=DISPLAY_MODELS["2.9-bwr"])


@pytest.mark.parametrize("kind", ["percent_off", "fixed_price", None])
def test_a_shelf_price_badge_stating_a_wrong_amount_off_is_refused(kind: str | None) -> None:
    content = _ten_off("pl_PL", "PLN", "Taniej o 15 zł", kind=kind)
    assert _problems(content) == (_claims_15("Taniej o 15 zł", "pl_PL"),)
    with pytest.raises(UnlawfulLabelError):
        render_label(content, model=DISPLAY_MODELS["2.9-bwr"])


@pytest.mark.parametrize("kind", ["percent_off", "fixed_price"])
def test_a_percent_badge_stating_a_number_beside_the_saving_is_refused(kind: str) -> None:
    badge = "-33% od 2 szt."
    problem = (
        f"the badge {badge!r} does not state the saving against the prior price 30.00: 10.00 "
        "(it states 2, read as pl_PL writes numbers)"
    )
    assert _problems(_ten_off("pl_PL", "PLN", badge, kind=kind)) == (problem,)


@pytest.mark.parametrize("kind", ["amount_off", "percent_off", "fixed_price", None])
@pytest.mark.parametrize(
    ("locale", "currency", "badge"),
    [
        ("pl_PL", "PLN", "-33%, taniej o 10 zł"),
        ("de_DE", "EUR", "-33% / 10,00 € billiger"),
        ("en_GB", "GBP", "-33%: £10 off"),
        ("de_CH", "CHF", "-33% / CHF 10.00 billiger"),
        ("pl_PL", "PLN", "-33,3%"),
        ("de_DE", "EUR", "Aktion -33 %"),
    ],
)
def test_a_badge_stating_the_right_percent_and_amount_passes_for_every_kind(
    locale: str, currency: str, badge: str, kind: str | None
) -> None:
    content = _ten_off(locale, currency, badge, kind=kind)
    assert _problems(content) == ()
    render_label(content, model=DISPLAY_MODELS["2.9-bwr"])


@pytest.mark.parametrize("kind", ["multi_buy", "buy_n_get_m", "loyalty_price"])
def test_a_conditional_offers_badge_states_its_quantities_and_price(kind: str) -> None:
    # Not a statement of the saving: its numbers are the offer's (checked by the engine).
    content = _ten_off("pl_PL", "PLN", "2 za 35 zł", kind=kind)
    assert _problems(content) == ()


# The other locales' thousands: each reads as 1 where the decimal sign is "." (en_GB,
# de_CH) or "," (pl_PL, de_DE); none is a sum of a currency with two minor digits.
@pytest.mark.parametrize(
    ("locale", "currency", "badge", "written"),
    [
        ("de_DE", "EUR", "1,000 € billiger", "1,000"),
        ("en_GB", "GBP", "£1.000 off", "1.000"),
        ("pl_PL", "PLN", "Taniej o 1,000 zł", "1,000"),
        ("de_CH", "CHF", "1.000 CHF billiger", "1.000"),
        ("de_CH", "CHF", "CHF 1.000 billiger", "1.000"),
    ],
)
@pytest.mark.parametrize("saving", ["1.00", "1000.00"])
def test_three_digits_after_the_decimal_sign_are_no_one_number(
    locale: str, currency: str, badge: str, written: str, saving: str
) -> None:
    prior = Decimal("1999.00") + Decimal(saving)
    content = replace(
        PROMOTION, locale=locale, currency=currency, price=Decimal("1999.00"),
        prior_price=prior, regular_price=None, promotion_text=badge, promotion_kind="amount_off",
    )  # fmt: skip
    problems = _problems(content)
    assert len(problems) == 1, problems
    assert problems[0].startswith(
        f"the badge {badge!r} does not state the saving against the prior price {prior}: "
        f"{saving} (it writes {written!r}, which is no one number as {locale} writes numbers"
    ), problems
    assert f"{currency} has 2 decimal digits" in problems[0], problems
    with pytest.raises(UnlawfulLabelError):
        render_label(content, model=DISPLAY_MODELS["2.9-bwr"])


def test_three_digits_after_the_decimal_sign_are_a_sum_of_a_currency_of_three() -> None:
    # The Kuwaiti dinar has 1000 fils: "KWD 1.500" is one and a half.
    content = replace(
        PROMOTION, locale="en_GB", currency="KWD", price=Decimal("8.500"),
        prior_price=Decimal("10.000"), regular_price=None,
        promotion_text="KWD 1.500 off", promotion_kind="amount_off",
    )  # fmt: skip
    assert _problems(content) == ()


_CURRENCIES = {
    "pl_PL": "PLN", "de_DE": "EUR", "en_GB": "GBP",
    # Other locales of the same languages: the engine writes their badges as the
    # language's documented locale does ("1.000 CHF billiger" for de_CH).
    "de_CH": "CHF", "de_AT": "EUR", "en_IE": "EUR",
}  # fmt: skip


def _engine_label(kind: PromotionKind, locale: str, *, prior: Money, saving: Money) -> LabelContent:
    """The label the engine builds for a promotion of `kind` saving about `saving` against
    a 30-day low of `prior` (a percent_off's price is rounded to the cent)."""
    currency = prior.currency
    price = Money(prior.amount - saving.amount, currency)
    fields = {
        PromotionKind.AMOUNT_OFF: {"amount": saving},
        PromotionKind.FIXED_PRICE: {"amount": price},
        PromotionKind.PERCENT_OFF: {"percent": saving.amount * 100 / prior.amount},
    }[kind]
    tv = pricing_product("TV")
    key = PriceKey("TV", Channel.STORE, "S1")
    catalogue = Catalogue(
        products=[tv],
        stores=[Store("S1", "Eins", None)],
        rules=[PriceRule(id="tv", sku="TV", amount=prior)],
        promotions=[Promotion(id="P", name="P", kind=kind, skus=frozenset({"TV"}), **fields)],
        currency=currency,
    )
    ledger = PriceLedger([LedgerEntry(key, PRICING_EPOCH - timedelta(days=60), prior, prior)])
    resolved = resolve(
        catalogue, sku="TV", channel=Channel.STORE, store="S1", at=PRICING_EPOCH,
        ledger=ledger, locale=locale,
    )  # fmt: skip
    assert resolved.announces_reduction
    return LabelContent.from_resolved(product=tv, price=resolved, locale=locale)


@settings(deadline=None)  # the first example warms caches; the machine is shared
@given(
    kind=st.sampled_from(sorted(SHELF_PRICE_KINDS)),
    locale=st.sampled_from(sorted(_CURRENCIES)),
    # Whole amounts, fractions and thousands, up to a million.
    saving=st.integers(1, 10**8) | st.sampled_from([100_000, 123_456, 1_000_000, 99_999_999]),
    price=st.integers(1, 10**6),
)
def test_the_engines_badge_of_every_kind_passes_in_every_locale(
    kind: PromotionKind, locale: str, saving: int, price: int
) -> None:
    currency = _CURRENCIES[locale]
    content = _engine_label(
        kind,
        locale,
        prior=Money(Decimal(price + saving).scaleb(-2), currency),
        saving=Money(Decimal(saving).scaleb(-2), currency),
    )
    assert content.promotion_text is not None
    assert _problems(content) == ()
    # A second amount after the engine's badge, overstating the saving by a cent, is not.
    assert content.prior_price is not None
    overstated = content.prior_price - content.price + Decimal("0.01")
    wrong = f"{content.promotion_text}, {overstated:f}"
    assert _problems(replace(content, promotion_text=wrong)) != ()
