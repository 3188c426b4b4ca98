"""A label's prior price is captioned by the rule that gave it.

- 4.00 -> 3.20 -> 2.00, a progressive markdown of a perishable product: the label shows
  4.00, the price before the first reduction (PL art. 4 ust. 4). It used to caption it
  "Najniższa cena z 30 dni przed obniżką", though 3.20 was charged in those 30 days.
- 12.00 since a launch 10 days ago, 8.99 from today: the label shows 12.00, the lowest
  since the product went on sale (PL art. 4 ust. 3). It used to caption it as a 30-day
  low, a claim about 20 days in which the product was not sold.
"""

from __future__ import annotations

import re
from dataclasses import replace
from enum import StrEnum

import pytest

from esl.label_legibility import ContentKind, LabelCase, read_fields
from pricing import PriceRule, PriorPriceBasis, Product
from pricing.label_text import LABEL_TEXTS
from rendering.content import LabelContent, content_from_dict, content_to_dict
from rendering.display_models import DISPLAY_MODELS
from rendering.layout import TextOp
from rendering.templates import Fill
from tests.pricing.test_omnibus import day, fixed, label_on, percent_off, perishable_product
from tests.rendering.default_layout import elements_showing
from tests.strategies import pln, pricing_product

LOCALES = ("pl_PL", "en_GB", "de_DE")
MODELS = ("1.54-bw", "1.54-bwr", "2.9-bwr", "4.2-bwr")
THIRTY_DAYS = re.compile(r"30")
BEFORE_FIRST = {
    "pl_PL": re.compile(r"sprzed pierwszej obniżki"),
    "en_GB": re.compile(r"before the first reduction"),
    "de_DE": re.compile(r"vor (der ersten|erster) Reduzierung"),
}
SINCE_LAUNCH = {
    "pl_PL": re.compile(r"od (początku sprzedaży|wprowadzenia) do obniżki"),
    "en_GB": re.compile(r"from launch to (the )?reduction"),
    "de_DE": re.compile(r"(seit Verkaufsbeginn bis zur|ab Verkaufsstart vor) Reduzierung"),
}


class Story(StrEnum):
    PERISHABLE_MARKDOWN = "perishable markdown"  # 4.00, 3.20 from day -3, 2.00 from day 0
    KEEPING_MARKDOWN = "keeping markdown"  # the same steps on a product that keeps
    NEW_PRODUCT = "new product"  # on sale since day -10 at 12.00, 8.99 from day 0


def _product(story: Story) -> Product:
    if story is Story.PERISHABLE_MARKDOWN:
        return perishable_product()
    if story is Story.NEW_PRODUCT:
        return replace(pricing_product("A"), on_sale_since=day(-10))
    return pricing_product("A")


def _content(story: Story, *, locale: str) -> LabelContent:
    product = _product(story)
    if story is Story.NEW_PRODUCT:
        rules = [PriceRule(id="list", sku="A", amount=pln(1200), valid_from=day(-10))]
        promotions = [fixed("sale", 899, 0)]
    else:
        rules = [PriceRule(id="r", sku="A", amount=pln(400))]
        promotions = [percent_off("first", 20, -3, 0), fixed("second", 200, 0, 2)]
    resolved, _ = label_on(rules=rules, promotions=promotions, product=product)
    return LabelContent.from_resolved(product=product, price=resolved, locale=locale)


def _drawn(content: LabelContent, model: str) -> str:
    elements = elements_showing(content, DISPLAY_MODELS[model], Fill.PRIOR_PRICE)
    return " ".join(op.text for e in elements for op in e.ops if isinstance(op, TextOp))


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize(
    ("story", "wording", "amount"),
    [
        # No 30-day claim for 4.00 beside the 3.20 charged in those days.
        (Story.PERISHABLE_MARKDOWN, BEFORE_FIRST, "4"),
        # No 30-day claim for a product sold on 10 days.
        (Story.NEW_PRODUCT, SINCE_LAUNCH, "12"),
    ],
)
def test_a_prior_price_that_is_no_thirty_day_low_is_captioned_by_its_own_rule(
    story: Story, wording: dict[str, re.Pattern[str]], amount: str, locale: str, model: str
) -> None:
    drawn = _drawn(_content(story, locale=locale), model)
    assert wording[locale].search(drawn), drawn
    assert not THIRTY_DAYS.search(drawn), drawn
    assert amount in drawn


@pytest.mark.parametrize("locale", LOCALES)
def test_a_product_that_keeps_is_still_captioned_as_the_thirty_day_low(locale: str) -> None:
    drawn = _drawn(_content(Story.KEEPING_MARKDOWN, locale=locale), "2.9-bwr")
    assert THIRTY_DAYS.search(drawn), drawn
    assert not BEFORE_FIRST[locale].search(drawn), drawn
    assert not SINCE_LAUNCH[locale].search(drawn), drawn


@pytest.mark.parametrize("story", [Story.PERISHABLE_MARKDOWN, Story.NEW_PRODUCT])
def test_the_basis_changes_the_content_fingerprint_and_survives_its_json_form(
    story: Story,
) -> None:
    content = _content(story, locale="pl_PL")
    assert content_from_dict(content_to_dict(content)) == content
    other = replace(content, prior_price_basis=PriorPriceBasis.LOWEST_30_DAYS)
    assert other.fingerprint != content.fingerprint


def test_every_language_has_every_caption_and_only_the_thirty_day_low_says_30() -> None:
    for texts in LABEL_TEXTS.values():
        for caption in (
            texts.before_first_reduction,
            texts.before_first_reduction_short,
            texts.since_on_sale,
            texts.since_on_sale_short,
        ):
            assert "{price}" in caption
            assert "30" not in caption


@pytest.mark.xdist_group("tesseract")
@pytest.mark.parametrize(
    ("story", "wording"),
    [(Story.PERISHABLE_MARKDOWN, BEFORE_FIRST), (Story.NEW_PRODUCT, SINCE_LAUNCH)],
)
def test_the_caption_of_a_small_label_is_read_exactly(
    story: Story, wording: dict[str, re.Pattern[str]]
) -> None:
    cases = [
        LabelCase(
            DISPLAY_MODELS[model],
            ContentKind.REDUCTION,
            locale,
            _content(story, locale=locale),
        )
        for model in ("1.54-bw", "1.54-bwr")
        for locale in LOCALES
    ]
    readings = [r for r in read_fields(cases) if r.fill is Fill.PRIOR_PRICE]
    assert len(readings) == len(cases)
    assert [(r.case, r.expected, r.read) for r in readings if not r.exact] == []
    for reading in readings:
        locale = reading.case.split("/")[2]
        assert wording[locale].search(reading.expected), reading.expected


@pytest.mark.parametrize("model", MODELS)
def test_a_perishable_price_raised_during_its_markdown_is_drawn_without_an_announcement(
    model: str,
) -> None:
    # Milk 4.00 for months, 2.00 from day -3, 3.00 from day 0: the price went up today. The
    # label drawn for day 0 used to read "Cena sprzed pierwszej obniżki: 4,00 zł" with the
    # 4.00 struck through beside 3.00; now it shows 3,00 zł plainly.
    product = perishable_product()
    rules = [PriceRule(id="r", sku="A", amount=pln(400))]
    promotions = [fixed("down", 200, -3, 0), fixed("up", 300, 0, 5)]
    resolved, _ = label_on(rules=rules, promotions=promotions, product=product)
    content = LabelContent.from_resolved(product=product, price=resolved, locale="pl_PL")
    assert not content.announces_reduction
    drawn = " ".join(
        op.text
        for fill in Fill
        for element in elements_showing(content, DISPLAY_MODELS[model], fill)
        for op in element.ops
        if isinstance(op, TextOp)
    )
    assert "obniżk" not in drawn, drawn
    assert "4,00" not in drawn, drawn
    assert "%" not in drawn, drawn
    assert not elements_showing(content, DISPLAY_MODELS[model], Fill.PRIOR_PRICE)
    assert not elements_showing(content, DISPLAY_MODELS[model], Fill.REGULAR_PRICE)
