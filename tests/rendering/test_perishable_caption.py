"""A perishable product's prior price is captioned by the rule that gave it.

4.00 -> 3.20 -> 2.00, a progressive markdown of a perishable product: the label shows
4.00, the price before the first reduction (PL art. 4 ust. 4). It used to caption it
"Najniższa cena z 30 dni przed obniżką", though 3.20 was charged in those 30 days.
"""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from esl.label_legibility import ContentKind, LabelCase, read_fields
from pricing import PriceRule, PriorPriceBasis
from pricing.label_text import LABEL_TEXTS
from rendering.content import LabelContent, content_from_dict, content_to_dict
from rendering.display_models import DISPLAY_MODELS
from rendering.layout import TextOp
from rendering.templates import Fill
from tests.pricing.test_omnibus import fixed, label_on, percent_off, perishable_product
from tests.rendering.default_layout import elements_showing
from tests.strategies import pln, pricing_product

RULES = [PriceRule(id="r", sku="A", amount=pln(400))]
MARKDOWNS = [percent_off("first", 20, -3, 0), fixed("second", 200, 0, 2)]
LOCALES = ("pl_PL", "en_GB", "de_DE")
MODELS = ("1.54-bw", "1.54-bwr", "2.9-bwr", "4.2-bwr")
THIRTY_DAYS = re.compile(r"30")
BEFORE_FIRST = {
    "pl_PL": re.compile(r"sprzed pierwszej obniżki"),
    "en_GB": re.compile(r"before the first reduction"),
    "de_DE": re.compile(r"vor (der ersten|erster) Reduzierung"),
}


def _content(*, perishable: bool, locale: str) -> LabelContent:
    """Day 0 of 4.00, -20 % from day -3 (3.20), 2.00 from day 0, as `locale`'s label."""
    product = perishable_product() if perishable else pricing_product("A")
    resolved, _ = label_on(rules=RULES, promotions=MARKDOWNS, product=product)
    return LabelContent.from_resolved(product=product, price=resolved, locale=locale)


def _drawn(content: LabelContent, model: str) -> str:
    elements = elements_showing(content, DISPLAY_MODELS[model], Fill.PRIOR_PRICE)
    return " ".join(op.text for e in elements for op in e.ops if isinstance(op, TextOp))


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("locale", LOCALES)
def test_a_perishable_markdown_is_captioned_as_the_price_before_the_first_reduction(
    locale: str, model: str
) -> None:
    drawn = _drawn(_content(perishable=True, locale=locale), model)
    assert BEFORE_FIRST[locale].search(drawn), drawn
    assert not THIRTY_DAYS.search(drawn), drawn  # no 30-day claim for 4.00 beside 3.20
    assert "4" in drawn


@pytest.mark.parametrize("locale", LOCALES)
def test_a_product_that_keeps_is_still_captioned_as_the_thirty_day_low(locale: str) -> None:
    drawn = _drawn(_content(perishable=False, locale=locale), "2.9-bwr")
    assert THIRTY_DAYS.search(drawn), drawn
    assert not BEFORE_FIRST[locale].search(drawn), drawn


def test_the_basis_changes_the_content_fingerprint_and_survives_its_json_form() -> None:
    perishable = _content(perishable=True, locale="pl_PL")
    assert content_from_dict(content_to_dict(perishable)) == perishable
    other = replace(perishable, prior_price_basis=PriorPriceBasis.LOWEST_30_DAYS)
    assert other.fingerprint != perishable.fingerprint


def test_every_language_has_both_captions() -> None:
    for texts in LABEL_TEXTS.values():
        for caption in (texts.before_first_reduction, texts.before_first_reduction_short):
            assert "{price}" in caption
            assert "30" not in caption


@pytest.mark.xdist_group("tesseract")
def test_the_caption_of_a_small_perishable_label_is_read_exactly() -> None:
    cases = [
        LabelCase(
            DISPLAY_MODELS[model],
            ContentKind.REDUCTION,
            locale,
            _content(perishable=True, locale=locale),
        )
        for model in ("1.54-bw", "1.54-bwr")
        for locale in LOCALES
    ]
    readings = [r for r in read_fields(cases) if r.fill is Fill.PRIOR_PRICE]
    assert len(readings) == len(cases)
    assert [(r.case, r.expected, r.read) for r in readings if not r.exact] == []
    for reading in readings:
        locale = reading.case.split("/")[2]
        assert BEFORE_FIRST[locale].search(reading.expected), reading.expected
