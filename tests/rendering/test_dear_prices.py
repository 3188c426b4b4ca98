"""Prices of a thousand and more are drawn whole and legible on every model.

The legibility matrix (`esl.label_legibility.sample_matrix`) is priced like a grocery
shelf (1,89 to 18,99), so it never met a four-digit price. On the 1.54" labels the big
price of a promotion (a reduction, a multi-buy, a loyalty price) stood in 0.56 of the
width beside the validity: "1 299,00 zł" and "1.299,00 €" were drawn with their currency
at 8 to 9 px, under the 10 px the model is read at (a `price_not_legible` finding, and
the label went to the shelf all the same). `esl.label_legibility.dear_price_matrix` has
every model, kind and locale at 1 299,00 to 9 999,99 (reductions to 1 039,20 to
7 999,99 with the prior price struck through, unit prices to five digits): the shipped
templates draw every money line of it whole at the model's minimum size at least, and
tesseract reads the big price of each 1.54" label exactly, piece by piece, as it does on
2.13" and up (tests/rendering/test_legibility.py).
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from esl.label_legibility import LOCALES, LabelCase, dear_price_matrix, read_fields
from rendering.findings import FindingKind
from rendering.layout import ELLIPSIS, TextOp, layout_label
from rendering.render import render_checked
from rendering.templates import Fill, default_template

pytestmark = pytest.mark.xdist_group("tesseract")

SMALL = ("1.54-bw", "1.54-bwr")
_MONEY_FILLS = (
    Fill.PRICE,
    Fill.REGULAR_PRICE,
    Fill.PRIOR_PRICE,
    Fill.UNIT_PRICE,
    Fill.OFFER_UNIT_PRICE,
)


def _name(case: LabelCase) -> str:
    return f"{case.id} {case.content.price}"


def test_the_matrix_holds_four_digit_prices_of_every_kind_on_every_model() -> None:
    cases = dear_price_matrix()
    assert {case.locale for case in cases} == set(LOCALES)
    for model in SMALL:
        mine = [case for case in cases if case.model.id == model]
        prices = {case.content.price for case in mine}
        # Every label states a thousand or more (a clearance at half price: struck through).
        assert min(case.content.regular_price or case.content.price for case in mine) >= 1000
        assert max(prices) == Decimal("9999.99")
        reduced = [case for case in mine if case.content.announces_reduction]
        assert {case.content.price for case in reduced} >= {Decimal("1039.20"), Decimal("7999.99")}
        assert max(case.content.prior_price or 0 for case in reduced) == Decimal("9999.99")
        assert all(case.content.unit_price is not None for case in mine)


def test_no_money_line_of_a_four_digit_price_is_under_the_models_minimum() -> None:
    """Every model, kind, locale: the price, the struck-through price, the prior price
    and the unit prices drawn whole at `min_text_px` or more, and no finding."""
    problems = []
    for case in dear_price_matrix():
        template = default_template(case.model)
        result = render_checked(case.content, model=case.model, template=template)
        illegible = [
            str(f)
            for f in result.findings
            if f.kind in (FindingKind.PRICE_NOT_LEGIBLE, FindingKind.UNLAWFUL_ANNOUNCEMENT)
        ]
        if illegible:
            problems.append((_name(case), illegible))
        fills = {region.name: region.fill for region in template.regions}
        for element in layout_label(case.content, model=case.model, template=template):
            if fills[element.region] not in _MONEY_FILLS:
                continue
            texts = [op for op in element.ops if isinstance(op, TextOp)]
            small = [(op.text, op.size) for op in texts if op.size < case.model.min_text_px]
            cut = [op.text for op in texts if ELLIPSIS in op.text]
            if small or cut:
                problems.append((_name(case), element.region, small, cut))
    assert problems == []


def test_the_price_of_a_small_label_at_four_digits_is_read_exactly() -> None:
    """The 1.54" labels (OCR_MODELS leaves them out of the sample matrix): every piece
    of the big price (integer, raised decimals, currency), read by tesseract from the
    1:1 label exactly."""
    cases = dear_price_matrix(models=SMALL)
    pieces = [r for r in read_fields(cases) if r.fill is Fill.PRICE]
    assert len(pieces) >= 3 * len(cases)
    wrong = [(r.case, r.region, r.expected, r.read) for r in pieces if not r.exact]
    assert wrong == []
