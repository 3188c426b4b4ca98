"""A unit price below ten minor units, drawn with its extra decimals, is read exactly.

1000 toothpicks at 3,99 zł cost "0,0040 zł" a piece, "0,0030 zł" under "2 za 6 zł"
(docs/pricing.md, "Unit prices"): two decimals more than any line of the OCR matrix
(tests/rendering/test_legibility.py) has. Each model of 2.13" and up draws both lines
with its default template, and Debian's tesseract reads them back (`esl.label_legibility`,
the same scoring: the amount to the last character, the caption but for punctuation).
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from esl.label_legibility import OCR_MODELS, ContentKind, LabelCase, label_content, read_fields
from rendering.display_models import DISPLAY_MODELS
from rendering.templates import Fill

pytestmark = pytest.mark.xdist_group("tesseract")


def _toothpicks(model_id: str, index: int) -> LabelCase:
    content = label_content(ContentKind.MULTI_BUY, "pl_PL", index)
    content = replace(
        content,
        name="Wykałaczki bambusowe 1000 szt.",
        price=Decimal("3.99"),
        unit_price=Decimal("0.0040"),
        offer_unit_price=Decimal("0.0030"),
        unit_label="1 szt.",
        promotion_text="2 za 6 zł",
    )
    return LabelCase(DISPLAY_MODELS[model_id], ContentKind.MULTI_BUY, "pl_PL", content)


def test_a_toothpicks_unit_prices_are_read_exactly() -> None:
    cases = [_toothpicks(model_id, index) for index, model_id in enumerate(OCR_MODELS)]
    readings = [
        r
        for r in read_fields(cases, workers=2)
        if r.fill in (Fill.UNIT_PRICE, Fill.OFFER_UNIT_PRICE)
    ]
    assert {(r.case.split("/")[0], r.fill) for r in readings} == {
        (model_id, fill)
        for model_id in OCR_MODELS
        for fill in (Fill.UNIT_PRICE, Fill.OFFER_UNIT_PRICE)
    }
    assert all(r.expected.endswith(("0,0040\xa0zł", "0,0030\xa0zł")) for r in readings)
    wrong = [
        f"{r.case} {r.region}: {r.expected!r} read {r.read!r}" for r in readings if not r.exact
    ]
    assert wrong == []
