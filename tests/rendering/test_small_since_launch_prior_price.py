"""The prior price of a new product's reduction on a 1.54" Polish label is read as priced.

A product on sale for less than 30 days (PL art. 4 ust. 3) has its prior-price line worded
"Najniższa cena od początku sprzedaży do obniżki: 899,00 zł". On the 1.54" labels that
line is drawn at 10 px, the model's floor (the 30-day wording of the same price is 13 px),
and the render reports nothing, so the controller sends it and the audit calls it `match`.
Read back by tesseract, as the other 1.54" prior-price tests read it, the lawful prior
price comes out as another amount: 899,00 as 839,00, 499,00 as 439,00 (the German
wording hit the same at 9-10 px and was given fewer words: test_small_prior_price.py).
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from esl.label_legibility import ContentKind, LabelCase, label_content, read_fields
from pricing import PriceRule, PriorPriceBasis
from rendering.content import LabelContent
from rendering.display_models import DISPLAY_MODELS
from rendering.layout import TextOp
from rendering.render import render_checked
from rendering.templates import Fill
from tests.pricing.test_omnibus import day, fixed, label_on
from tests.rendering.default_layout import elements_showing
from tests.strategies import pln, pricing_product

pytestmark = pytest.mark.xdist_group("tesseract")

# (launch price in grosze, promotion price in grosze): everyday electronics and household
# prices, all under the 9 999,99 zł the small template promises to draw legibly.
PRICES = ((12999, 9999), (49900, 39900), (89900, 71900), (189900, 149900))


def _content(launch: int, promo: int) -> LabelContent:
    product = replace(pricing_product("A"), on_sale_since=day(-10))
    rules = [PriceRule(id="list", sku="A", amount=pln(launch), valid_from=day(-10))]
    resolved, _ = label_on(rules=rules, promotions=[fixed("sale", promo, 0)], product=product)
    content = LabelContent.from_resolved(product=product, price=resolved, locale="pl_PL")
    assert content.announces_reduction
    assert content.prior_price_basis is PriorPriceBasis.LOWEST_SINCE_ON_SALE
    assert content.prior_price == pln(launch).amount
    return content


def test_the_prior_price_of_a_new_products_reduction_on_a_small_polish_label_is_read() -> None:
    cases = [
        LabelCase(DISPLAY_MODELS[model], ContentKind.REDUCTION, "pl_PL", _content(*prices))
        for model in ("1.54-bw", "1.54-bwr")
        for prices in PRICES
    ]
    # The controller is told nothing is wrong: no finding on the prior-price line.
    for case in cases:
        findings = render_checked(case.content, model=case.model).findings
        assert [str(f) for f in findings if f.region == "prior_price"] == []
    readings = [r for r in read_fields(cases) if r.fill is Fill.PRIOR_PRICE]
    assert len(readings) == len(cases)
    wrong = [(r.case, r.expected, r.read) for r in readings if not r.exact]
    assert wrong == []


# Amounts with a 9 after a digit, the glyph a hinted 10 px "9" is misread from ("3").
NINES = ("129.99", "499.00", "899.00", "1899.00", "2499.00")


def _every_basis_case(model: str, locale: str, basis: PriorPriceBasis, prior: str) -> LabelCase:
    content = label_content(ContentKind.REDUCTION, locale, NINES.index(prior))
    amount = Decimal(prior)
    content = replace(content, price=(amount * Decimal("0.8")).quantize(Decimal("0.01")),
                      regular_price=amount, prior_price=amount, promotion_text="-20%",
                      prior_price_basis=basis)  # fmt: skip
    return LabelCase(DISPLAY_MODELS[model], ContentKind.REDUCTION, locale, content)


def test_every_prior_price_line_of_a_small_label_is_drawn_over_the_minimum_and_read() -> None:
    """Each of the three prior-price rules in pl, de and en: over the model's minimum size,
    where the 9s of "1 899,00" and "2 499,00" stay 9s, and read back exactly
    ("Lowest price from launch to the reduction: £2,499.00" at 12 px read "£" as "€",
    "Tiefstpreis seit Verkaufsstart …: 2.499,00 €" at 11 px "2.499,0D")."""
    cases = [
        _every_basis_case(model, locale, basis, prior)
        for model in ("1.54-bw", "1.54-bwr")
        for locale in ("pl_PL", "de_DE", "en_GB")
        for basis in PriorPriceBasis
        for prior in NINES
    ]
    for case in cases:
        (element,) = elements_showing(case.content, case.model, Fill.PRIOR_PRICE)
        sizes = {op.size for op in element.ops if isinstance(op, TextOp)}
        assert min(sizes) > case.model.min_text_px, (case.id, case.content.prior_price_basis, sizes)
    readings = [r for r in read_fields(cases) if r.fill is Fill.PRIOR_PRICE]
    assert len(readings) == len(cases)
    wrong = [(r.case, r.expected, r.read) for r in readings if not r.exact]
    assert wrong == []
