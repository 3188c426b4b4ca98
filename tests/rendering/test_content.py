"""Label content: built from the pricing engine's answer, or from a designer's JSON."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings

from pricing import (
    Channel,
    LedgerEntry,
    PriceKey,
    PriceLedger,
    PriceRule,
    Store,
)
from rendering.content import LabelContent, content_from_dict, content_to_dict
from rendering.display_models import DISPLAY_MODELS
from rendering.errors import ContentError
from rendering.render import render_label
from tests.rendering.label_samples import LONG, PLAIN, PROMOTION
from tests.strategies import PRICING_EPOCH, label_contents, pln, pricing_product
from tests.support.pricing import percent_off_sale, pln_catalogue, shelf_price

PROMOTION_END = datetime(2026, 3, 31, 22, 0, tzinfo=PRICING_EPOCH.tzinfo)  # 1 April, 00:00 Warsaw


def _resolved_with_promotion(
    valid_until: datetime = PROMOTION_END,
) -> tuple[LabelContent, LabelContent]:
    store = Store("S1", "Kraków Kazimierz")
    spring = percent_off_sale(
        "p1",
        20,
        name="Wiosna",
        valid_from=PRICING_EPOCH + timedelta(days=10),
        valid_until=valid_until,
    )
    catalogue = pln_catalogue(
        [PriceRule(id="base", sku="A", amount=pln(1000))], [spring], stores=[store]
    )
    ledger = PriceLedger()
    product = pricing_product("A")
    labels = []
    # From 40 days before the promotion: a ledger holding fewer than the 30 days before it
    # knows no prior price of a product on sale for long, and announces nothing.
    for day in (-30, 12):
        price = shelf_price(catalogue, at=PRICING_EPOCH + timedelta(days=day), ledger=ledger)
        ledger.record(price)  # as publication does: the shelf's price history
        labels.append(
            LabelContent.from_resolved(product=product, price=price, store=store, locale="pl_PL")
        )
    return labels[0], labels[1]


def test_a_resolved_promotion_becomes_label_content() -> None:
    before, during = _resolved_with_promotion()
    assert before.price == Decimal("10.00")
    assert before.regular_price is None
    assert not before.has_promotion
    assert during.price == Decimal("8.00")
    assert during.regular_price == Decimal("10.00")
    assert during.promotion_text == "-20%"
    assert during.has_promotion
    assert during.store_name == "Kraków Kazimierz"
    # The window ends at midnight Warsaw time on 1 April: the label says "until 31.03".
    assert during.valid_until == date(2026, 3, 31)
    assert during.fingerprint != before.fingerprint


def test_the_fingerprint_follows_every_visible_field_and_only_value() -> None:
    assert PLAIN.fingerprint == replace(PLAIN).fingerprint
    changed = [
        replace(PLAIN, price=Decimal("7.48")),
        replace(PLAIN, name=PLAIN.name + "."),
        replace(PLAIN, locale="en_GB"),
        replace(PLAIN, store_name=None),
        replace(PLAIN, gtin=""),
    ]
    assert len({PLAIN.fingerprint, *(c.fingerprint for c in changed)}) == 1 + len(changed)


@settings(max_examples=100, deadline=None)
@given(content=label_contents())
def test_the_json_form_reads_back_to_an_equal_content(content: LabelContent) -> None:
    text = json.dumps(content_to_dict(content))
    assert content_from_dict(json.loads(text)) == content


def test_a_promotion_end_instant_becomes_the_last_local_day() -> None:
    data = content_to_dict(PROMOTION)
    data["price"]["promotion"]["valid_until"] = "2026-12-01T00:00:00+01:00"  # type: ignore[index]
    assert content_from_dict(data).valid_until == date(2026, 11, 30)


def test_a_promotion_for_ever_is_valid_through_the_calendars_last_day_east_of_utc() -> None:
    """Found by a hunter: a promotion valid until 9999-12-31T23:30Z (an integrator's "no
    end"; in UTC, so the API takes it) is in year 10000 in Warsaw, and drawing its label
    failed with an OverflowError instead of showing its last day."""
    _, content = _resolved_with_promotion(valid_until=datetime(9999, 12, 31, 23, 30, tzinfo=UTC))
    assert content.valid_until == date.max
    data = content_to_dict(PROMOTION)
    data["price"]["promotion"]["valid_until"] = "9999-12-31T23:30:00Z"  # type: ignore[index]
    data["timezone"] = "Asia/Tokyo"
    assert content_from_dict(data).valid_until == date.max
    render_label(content, model=DISPLAY_MODELS["2.9-bwr"])


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (("price", "price"), 12.99, "price.price"),
        (("price", "price"), "twelve", "price.price"),
        (("price", "price"), "-1", "price.price"),
        (("product", "sku"), None, "product.sku"),
        (("product", "gtin"), "59012", "product.gtin"),
        (("price", "currency"), 978, "price.currency"),
        (("locale",), "xx_YY_ZZ", "locale"),
        (
            ("price", "promotion", "valid_until"),
            "2026-12-01T00:00:00",
            "price.promotion.valid_until",
        ),
    ],
)
def test_malformed_content_names_the_field(
    path: tuple[str, ...], value: object, field: str
) -> None:
    data = json.loads(json.dumps(content_to_dict(LONG)))
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(ContentError) as caught:
        content_from_dict(data)
    assert caught.value.field == field


def _label_after_a_recent_lower_price(*, promotion_percent: int) -> LabelContent:
    """Regular 10.00 zł, 9.00 zł for a week in the last 30 days, then a percent-off promotion."""
    store = Store("S1", "Kraków Kazimierz")
    product = pricing_product("A")
    key = PriceKey("A", Channel.STORE, "S1")
    ledger = PriceLedger(
        [
            LedgerEntry(
                key=key, effective_from=PRICING_EPOCH, price=pln(1000), regular_price=pln(1000)
            ),
            LedgerEntry(
                key=key,
                effective_from=PRICING_EPOCH + timedelta(days=40),
                price=pln(900),
                regular_price=pln(900),
            ),
            LedgerEntry(
                key=key,
                effective_from=PRICING_EPOCH + timedelta(days=47),
                price=pln(1000),
                regular_price=pln(1000),
            ),
        ]
    )
    autumn = percent_off_sale(
        "p1", promotion_percent, name="Jesień", valid_from=PRICING_EPOCH + timedelta(days=55)
    )
    catalogue = pln_catalogue(
        [PriceRule(id="base", sku="A", amount=pln(1000))],
        [autumn],
        stores=[store],
        products=[product],
    )
    price = shelf_price(catalogue, at=PRICING_EPOCH + timedelta(days=56), ledger=ledger)
    return LabelContent.from_resolved(product=product, price=price, store=store, locale="pl_PL")


def test_an_announced_reduction_is_measured_from_the_30_day_low_not_the_regular_price() -> None:
    # 20% off 10.00 is 8.00, but the price was 9.00 a week ago: the label may claim 11%.
    label = _label_after_a_recent_lower_price(promotion_percent=20)
    assert label.price == Decimal("8.00")
    assert label.prior_price == Decimal("9.00")
    assert label.regular_price == Decimal("9.00")  # the struck-through "was" price
    assert label.promotion_text == "-11%"


def test_a_reduction_that_saves_nothing_against_the_30_day_low_announces_nothing() -> None:
    # 10% off 10.00 is 9.00: exactly the price of a week ago, so nothing is saved and
    # nothing may be announced: no badge, no colour, nothing struck through.
    label = _label_after_a_recent_lower_price(promotion_percent=10)
    assert label.price == Decimal("9.00")
    assert label.regular_price is None
    assert label.promotion_text is None
    assert not label.announces_reduction


@pytest.mark.parametrize(
    ("locale", "currency", "reason"),
    [
        ("kk_KZ", "KZT", "'₸' (U+20B8)"),
        ("uk_UA", "UAH", "no label texts in Ukrainian"),
        ("ja_JP", "JPY", "'日' (U+65E5)"),
        ("ar_EG", "EGP", "right to left"),
    ],
)
def test_content_in_a_locale_the_font_cannot_write_is_refused(
    locale: str, currency: str, reason: str
) -> None:
    data = content_to_dict(replace(PLAIN))
    data["locale"] = locale
    data["price"]["currency"] = currency  # type: ignore[index]
    with pytest.raises(ContentError) as refused:
        content_from_dict(data)
    assert refused.value.field == "locale"
    assert reason in refused.value.reason


def test_text_the_font_cannot_draw_is_refused_naming_the_field_never_drawn_as_tofu() -> None:
    model = DISPLAY_MODELS["2.9-bw"]
    with pytest.raises(ContentError) as refused:
        render_label(replace(PLAIN, name="Herbata zielona 日本茶"), model=model)
    assert refused.value.field == "product.name"
    assert "'日' (U+65E5)" in refused.value.reason
    with pytest.raises(ContentError) as currency:
        # Fira Sans Condensed draws "฿" and "₹"; the peso sign "₱" it lacks.
        render_label(replace(PLAIN, currency="PHP", locale="en_GB"), model=model)  # "₱"
    assert currency.value.field == "price.currency"
    assert render_label(replace(PLAIN, name="Żółć Straße Crème brûlée"), model=model)
