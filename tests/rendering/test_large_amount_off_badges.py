"""An "amount off" badge of 1,000 or more, written the locale's way ("1.000 € billiger",
"£1,000 off", "Taniej o 1 000 zł"), is a lawful announcement when the saving against the
30-day low is exactly that amount: the renderer draws it, not refuses it as unlawful (and
the controller then leaves the label out of its plan, the shelf showing the old price
while the till charges the new one). A badge stating another amount is still refused, in
every locale, however its numbers are grouped.

A number is read whole, never split at a sign (the reviewer's case): "10.50 € billiger",
"£10,50 off" and "Taniej o 10.50 zł" state ten and a half, loosely written, and are
refused for a saving of exactly 10; a number no locale reading makes one amount ("1.000"
in pl_PL: ten or a thousand?) is refused as unreadable, and so is a badge stating any
number beside the saving ("10 € billiger ab 2 Stück")."""

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
from pricing.label_text import SUPPORTED_LOCALES
from pricing.promotions import amount_off_text
from rendering.cache import RenderCache
from rendering.content import LabelContent
from rendering.display_models import DISPLAY_MODELS, get_display_model
from rendering.errors import UnlawfulLabelError
from rendering.render import render_label
from rendering.templates import default_template
from tests.rendering.label_samples import (
    announcement_problems_on as _problems,
)
from tests.rendering.label_samples import (
    reduction_label,
)
from tests.strategies import PRICING_EPOCH, pricing_product


@pytest.mark.parametrize(
    ("locale", "currency", "badge"),
    [
        ("de_DE", "EUR", "1.000\xa0€ billiger"),
        ("en_GB", "GBP", "£1,000 off"),
        ("pl_PL", "PLN", "Taniej o 1\xa0000\xa0zł"),
        # Another locale of a supported language: the engine writes the badge the way
        # the label's locale writes money (de_CH, as its price: "CHF 2'999.00"), and the
        # renderer takes it.
        ("de_CH", "CHF", "CHF\xa01'000 billiger"),
    ],
)
def test_a_thousand_off_is_drawn_not_refused(locale: str, currency: str, badge: str) -> None:
    tv = pricing_product("TV")
    key = PriceKey("TV", Channel.STORE, "S1")
    catalogue = Catalogue(
        products=[tv],
        stores=[Store("S1", "Eins", None)],
        rules=[PriceRule(id="tv", sku="TV", amount=Money.of("2999.00", currency))],
        promotions=[
            Promotion(
                id="TV-1000", name="TV", kind=PromotionKind.AMOUNT_OFF,
                skus=frozenset({"TV"}), amount=Money.of("1000.00", currency),
            )
        ],
        currency=currency,
    )  # fmt: skip
    price = Money.of("2999.00", currency)
    ledger = PriceLedger([LedgerEntry(key, PRICING_EPOCH - timedelta(days=60), price, price)])
    resolved = resolve(
        catalogue, sku="TV", channel=Channel.STORE, store="S1", at=PRICING_EPOCH,
        ledger=ledger, locale=locale,
    )  # fmt: skip
    assert resolved.announces_reduction
    assert resolved.prior_price == price
    assert resolved.saving == Money.of("1000.00", currency)
    assert resolved.promotion is not None
    assert resolved.promotion.text == badge
    content = LabelContent.from_resolved(product=tv, price=resolved, locale=locale)
    model = get_display_model("2.9-bwr")
    # The engine's own, lawful announcement: the renderer draws it.
    rendered = RenderCache().render(content, model=model, template=default_template(model))
    assert rendered.content_hash


def _tv(locale: str, currency: str, badge: str) -> LabelContent:
    """Hand-written: 1 999,00 now, 2 999,00 the 30-day low (and struck through)."""
    return reduction_label(locale, currency, badge, price="1999.00", prior="2999.00")


@pytest.mark.parametrize(
    ("locale", "currency", "badge"),
    [
        ("de_DE", "EUR", "1.000 € billiger"),
        ("de_DE", "EUR", "1.000,00\xa0€ billiger"),
        ("de_DE", "EUR", "1 000 € billiger"),  # DIN 5008 groups with a space too
        ("en_GB", "GBP", "£1,000 off"),
        ("en_GB", "GBP", "Save £1,000.00"),
        ("pl_PL", "PLN", "Taniej o 1 000 zł"),
        ("pl_PL", "PLN", "Taniej o 1\u202f000,00\xa0zł"),
        ("de_CH", "CHF", "CHF 1'000 billiger"),
        ("de_CH", "CHF", "CHF 1’000.00 billiger"),
    ],
)
def test_a_hand_written_thousand_off_in_the_locales_writing_passes(
    locale: str, currency: str, badge: str
) -> None:
    content = _tv(locale, currency, badge)
    assert _problems(content) == ()
    render_label(content, model=DISPLAY_MODELS["2.9-bwr"])


# "1,000 € billiger", "£1.000 off", "Taniej o 1,000 zł": three digits after the decimal
# sign are no one number (test_badge_amounts_beside_percentages.py).
@pytest.mark.parametrize(
    ("locale", "currency", "badge", "read"),
    [
        ("de_DE", "EUR", "2.000 € billiger", "2000"),
        ("de_DE", "EUR", "1.500 € billiger", "1500"),
        ("en_GB", "GBP", "£2,000 off", "2000"),
        ("pl_PL", "PLN", "Taniej o 2 000 zł", "2000"),
        ("de_CH", "CHF", "CHF 2'000 billiger", "2000"),
    ],
)
def test_a_badge_stating_another_saving_is_refused_in_every_locale(
    locale: str, currency: str, badge: str, read: str
) -> None:
    content = _tv(locale, currency, badge)
    problem = (
        f"the badge {badge!r} does not state the saving against the prior price 2999.00: "
        f"1000.00 (it states {read}, read as {locale} writes numbers)"
    )
    assert problem in _problems(content), _problems(content)
    with pytest.raises(UnlawfulLabelError):
        render_label(content, model=DISPLAY_MODELS["2.9-bwr"])


_CURRENCIES = {"pl_PL": "PLN", "de_DE": "EUR", "en_GB": "GBP"}


@settings(deadline=None)  # the first example warms caches; the machine is shared
@given(
    locale=st.sampled_from(SUPPORTED_LOCALES),
    saving=st.integers(1, 10**8),
    price=st.integers(1, 10**6),
)
def test_the_engines_badge_for_any_saving_passes_and_another_amount_does_not(
    locale: str, saving: int, price: int
) -> None:
    currency = _CURRENCIES[locale]
    cents = Decimal(saving).scaleb(-2)
    content = replace(
        _tv(locale, currency, amount_off_text(Money(cents, currency), locale=locale)),
        price=Decimal(price).scaleb(-2), prior_price=Decimal(price + saving).scaleb(-2),
        regular_price=None,
    )  # fmt: skip
    assert _problems(content) == ()
    overstated = amount_off_text(Money(cents + Decimal("0.01"), currency), locale=locale)
    assert _problems(replace(content, promotion_text=overstated)) != ()


def _ten_off(locale: str, currency: str, badge: str, *, price: str = "10.00") -> LabelContent:
    """20.00 the 30-day low (struck through), 10.00 now: a saving of exactly 10."""
    return reduction_label(locale, currency, badge, price=price, prior="20.00")


# A number is read whole, never split at a sign: "10.50" on a German label is ten and a
# half written loosely (the other decimal sign, before other than three digits), not 10
# and 50, one of which would be the saving of 10.
@pytest.mark.parametrize(
    ("locale", "currency", "badge", "read"),
    [
        ("de_DE", "EUR", "10.50 € billiger", "10.50"),
        ("de_DE", "EUR", "10.5 € billiger", "10.5"),
        ("de_DE", "EUR", "1.000.50 € billiger", None),  # "." both groups and divides
        ("de_DE", "EUR", "10'000 € billiger", None),  # not a sign de_DE writes
        ("en_GB", "GBP", "£10,50 off", "10.50"),
        ("en_GB", "GBP", "£10,5 off", "10.5"),
        ("pl_PL", "PLN", "Taniej o 10.50 zł", "10.50"),
        ("pl_PL", "PLN", "Taniej o 10.000 zł", None),  # ten, or ten thousand?
        ("de_CH", "CHF", "CHF 10,50 billiger", "10.50"),
        ("de_CH", "CHF", "CHF 10,000 billiger", None),  # ten, or ten thousand?
    ],
)
def test_a_fraction_written_with_the_other_decimal_sign_is_refused_in_every_locale(
    locale: str, currency: str, badge: str, read: str | None
) -> None:
    content = _ten_off(locale, currency, badge)
    refusal = f"the badge {badge!r} does not state the saving against the prior price 20.00: 10.00"
    problems = _problems(content)
    if read is not None:
        assert f"{refusal} (it states {read}, read as {locale} writes numbers)" in problems
    else:
        assert len(problems) == 1, problems
        assert problems[0].startswith(f"{refusal} (it writes "), problems
        assert f"which is no one number as {locale} writes numbers" in problems[0]
    with pytest.raises(UnlawfulLabelError):
        render_label(content, model=DISPLAY_MODELS["2.9-bwr"])


@pytest.mark.parametrize(
    ("locale", "currency", "badge"),
    [
        ("de_DE", "EUR", "10.50 € billiger"),
        ("en_GB", "GBP", "£10,50 off"),
        ("pl_PL", "PLN", "Taniej o 10.50 zł"),
        ("de_CH", "CHF", "CHF 10,50 billiger"),
    ],
)
def test_a_fraction_written_with_the_other_decimal_sign_states_that_fraction(
    locale: str, currency: str, badge: str
) -> None:
    # 9.50 now against 20.00: the saving is the ten and a half the badge states.
    assert _problems(_ten_off(locale, currency, badge, price="9.50")) == ()


@pytest.mark.parametrize(
    ("locale", "currency", "badge", "read"),
    [
        ("de_DE", "EUR", "10 € billiger ab 2 Stück", "10, 2"),
        ("de_DE", "EUR", "10 € billiger, 10,50 € gespart", "10, 10.50"),
        ("en_GB", "GBP", "£10 off, was £20", "10, 20"),
        ("pl_PL", "PLN", "Taniej o 10 zł przy 2 szt.", "10, 2"),
        ("pl_PL", "PLN", "Taniej o 10 50 zł", "10, 50"),  # a space before two digits parts
        ("de_CH", "CHF", "CHF 10 billiger, 3 für 2", "10, 3, 2"),
    ],
)
def test_a_badge_stating_a_number_beside_the_saving_is_refused(
    locale: str, currency: str, badge: str, read: str
) -> None:
    content = _ten_off(locale, currency, badge)
    problem = (
        f"the badge {badge!r} does not state the saving against the prior price 20.00: 10.00 "
        f"(it states {read}, read as {locale} writes numbers); it may state no number but "
        "the saving"
    )
    assert problem in _problems(content), _problems(content)
    with pytest.raises(UnlawfulLabelError):
        render_label(content, model=DISPLAY_MODELS["2.9-bwr"])


@pytest.mark.parametrize(
    ("locale", "currency", "badge"),
    [
        ("de_DE", "EUR", "10 € billiger"),
        ("de_DE", "EUR", "10,00 € billiger"),
        ("en_GB", "GBP", "£10 off"),
        ("en_GB", "GBP", "Save £10.00"),
        ("pl_PL", "PLN", "Taniej o 10 zł"),
        ("pl_PL", "PLN", "Taniej o 10,00\xa0zł"),
        ("de_CH", "CHF", "CHF 10.00 billiger"),
        ("de_CH", "CHF", "10\xa0CHF billiger"),  # the engine's own
    ],
)
def test_a_badge_stating_the_saving_of_ten_alone_passes(
    locale: str, currency: str, badge: str
) -> None:
    content = _ten_off(locale, currency, badge)
    assert _problems(content) == ()
    render_label(content, model=DISPLAY_MODELS["2.9-bwr"])
