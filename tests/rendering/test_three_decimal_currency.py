"""A currency of three decimals (KWD) keeps its decimal and group signs legible.

Found by the render2 hunt: the legibility matrix is priced in two-decimal currencies, and
the sign between two digits of a line was drawn wherever the face put it, against a digit
at some sizes and pen positions (only two digits in a row were kept `DIGIT_GAP_PX` apart).
Read back by tesseract (`esl.label_legibility.read_fields`), "1.380,000 KWD" (de_DE) was
"1380,000" and "KWD 1.381" (en_GB, 1.54" and 2.13") was "1381": a price a thousand times
higher. The sign between two digits now keeps the same gap from both.

Not claimed here: en_GB amounts of a thousand and more ("KWD 1,380.000") are still read
"1,380,000" on 2.13" to 2.9" whatever that gap (1 to 3 pixels tried; at 3 the comma is read
apart, "1, 380"), though the period stands clear of both digits: tesseract's English model
takes the period after a comma-grouped thousand for another group sign.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import numpy as np
import pytest

from esl.label_legibility import ContentKind, LabelCase, label_content, read_fields
from rendering.display_models import DISPLAY_MODELS
from rendering.fonts import DIGIT_GAP_PX, Weight, text_mask
from rendering.templates import Fill

_MONEY = (Fill.PRICE, Fill.PRIOR_PRICE, Fill.UNIT_PRICE, Fill.OFFER_UNIT_PRICE)
# Prices whose prior price (x 1.25) and unit price (x 5) stay under a thousand in en_GB;
# de_DE up to "5.520,000 KWD".
_PRICES = {"en_GB": ("1.105", "12.345", "99.99"), "de_DE": ("1.105", "250.5", "1104")}


def _kwd(model: str, kind: ContentKind, locale: str, price: str) -> LabelCase:
    content = label_content(kind, locale, 0)
    amount = Decimal(price)
    prior = (amount * Decimal("1.25")).quantize(Decimal("0.001"))
    unit = (amount * 5).quantize(Decimal("0.001")) if content.unit_price is not None else None
    content = replace(content, currency="KWD", price=amount, unit_price=unit)
    if kind is ContentKind.REDUCTION:
        content = replace(
            content,
            regular_price=prior,
            prior_price=prior,
            promotion_text="-20%",
            valid_until=date(2026, 11, 30),
        )
    return LabelCase(DISPLAY_MODELS[model], kind, locale, content)


@pytest.mark.xdist_group("tesseract")
def test_three_decimal_prices_are_read_exactly_on_every_model() -> None:
    cases = [
        _kwd(model, kind, locale, price)
        for model in DISPLAY_MODELS
        for locale, prices in _PRICES.items()
        for price in prices
        for kind in (ContentKind.PLAIN, ContentKind.REDUCTION)
    ]
    readings = [r for r in read_fields(cases) if r.fill in _MONEY]
    assert {r.fill for r in readings} >= {Fill.PRICE, Fill.PRIOR_PRICE, Fill.UNIT_PRICE}
    assert [(r.case, r.expected, r.read) for r in readings if not r.exact] == []


@pytest.mark.parametrize("weight", list(Weight))
@pytest.mark.parametrize("size", range(10, 31))
@pytest.mark.parametrize(
    "text", ["KWD\xa01,380.000", "1.380,000\xa0KWD", "7,49\xa0zł", "£1,299.00"]
)
def test_a_sign_between_two_digits_touches_neither(text: str, size: int, weight: Weight) -> None:
    """Each sign between two digits keeps `DIGIT_GAP_PX` of paper from the ink of the
    digit before it and of the digit after it, diagonals included."""
    drawn = _ink(weight, size, text)
    for index, sign in enumerate(text):
        if sign not in ".," or not (text[index - 1].isdigit() and text[index + 1].isdigit()):
            continue
        before = _added(weight, size, text, index)  # the digit before the sign
        own = _added(weight, size, text, index + 1)
        after = _added(weight, size, text, index + 2)
        assert own, f"{text!r} {size}px: the {sign!r} draws nothing"
        for neighbour, where in ((before, "before"), (after, "after")):
            near = {
                (x + dx, y + dy)
                for x, y in own
                for dx in range(-DIGIT_GAP_PX, DIGIT_GAP_PX + 1)
                for dy in range(-DIGIT_GAP_PX, DIGIT_GAP_PX + 1)
            }
            touching = near & neighbour & drawn
            assert not touching, f"{text!r} {weight} {size}px: {sign!r} touches the digit {where}"


def _ink(weight: Weight, size: int, text: str) -> set[tuple[int, int]]:
    rendered = text_mask(weight, size, text)
    left, top, right, bottom = rendered.box
    mask = np.frombuffer(bytes(rendered.mask), dtype=np.uint8).reshape(bottom - top, right - left)
    rows, columns = np.nonzero(mask)
    return {(left + int(c), top + int(r)) for r, c in zip(rows, columns, strict=True)}


def _added(weight: Weight, size: int, text: str, index: int) -> set[tuple[int, int]]:
    """The ink character `index` of `text` adds to its prefix (a prefix is drawn as in
    the whole line, rendering/fonts.py)."""
    before = _ink(weight, size, text[:index]) if index else set()
    return _ink(weight, size, text[: index + 1]) - before
