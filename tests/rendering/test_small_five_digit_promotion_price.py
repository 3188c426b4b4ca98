"""A 1.54" Polish promotion price of 10 000 zł and more states its currency.

docs/templates.md sets the small template's limit at 9 999,99 and says larger prices are
"reported, never drawn in silence"; the controller logs the finding and sends the label
all the same, and the audit calls it `match`. The currency of the big price is then
drawn at 9 px, where tesseract reads "zł" as "ał" (the misread small template version 5
fixed for four digits). An electronics shelf meets such prices (a TV at 12 999 zł).
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from esl.label_legibility import ContentKind, LabelCase, read_fields
from pricing import PriceRule
from rendering.content import LabelContent
from rendering.display_models import DISPLAY_MODELS
from rendering.templates import Fill
from tests.pricing.test_omnibus import day, label_on, percent_off
from tests.strategies import pln, pricing_product

pytestmark = pytest.mark.xdist_group("tesseract")


def _content(cents: int) -> LabelContent:
    product = pricing_product("A")
    rules = [PriceRule(id="list", sku="A", amount=pln(cents), valid_from=day(-60))]
    resolved, _ = label_on(rules=rules, promotions=[percent_off("sale", 20, 0)], product=product)
    content = LabelContent.from_resolved(product=product, price=resolved, locale="pl_PL")
    assert content.announces_reduction
    return replace(content, unit_price=None, unit_label=None)


def test_a_five_digit_promotion_price_on_a_small_polish_label_reads_as_priced() -> None:
    cases = [
        LabelCase(DISPLAY_MODELS[model], ContentKind.REDUCTION, "pl_PL", _content(cents))
        for model in ("1.54-bw", "1.54-bwr")
        for cents in (1299900, 1899900)
    ]
    pieces = [r for r in read_fields(cases) if r.fill is Fill.PRICE]
    wrong = [(r.case, r.expected, r.read) for r in pieces if not r.exact]
    assert wrong == []
