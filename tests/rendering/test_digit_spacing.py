"""Two digits in a row never touch: "44" reads as two fours, not as one blob.

Fira Sans Condensed's tabular digits are as wide as their advance once hinted at some
sizes (bold "4" at every even size up to 28 px: the decimals of a 2.9" promotion price;
bold "00" at 12 px in a validity date), so neighbouring digits shared an edge or a
corner. Measured on the painted 1:1 label: each digit's pixels are the ink its text
prefix adds, and two digits in a row must keep a pixel of paper between them, diagonals
included.
"""

from __future__ import annotations

import functools
from dataclasses import replace
from decimal import Decimal

import numpy as np
import numpy.typing as npt
import pytest

from esl.label_legibility import ContentKind, label_content, sample_matrix
from rendering.content import LabelContent
from rendering.display_models import DISPLAY_MODELS, DisplayModel
from rendering.fonts import text_mask
from rendering.layout import Element, TextOp, layout_label
from rendering.render import paint
from rendering.templates import default_template
from tests.rendering.label_samples import MULTI_BUY, PLAIN, PROMOTION


@functools.lru_cache(maxsize=8)  # a digit's prefix is the next digit's shorter prefix
def _prefix_ink(op: TextOp, length: int) -> frozenset[tuple[int, int]]:
    if length == 0:
        return frozenset()
    rendered = text_mask(op.weight, op.size, op.text[:length])
    left, top, right, bottom = rendered.box
    mask = np.frombuffer(bytes(rendered.mask), dtype=np.uint8).reshape(bottom - top, right - left)
    rows, columns = np.nonzero(mask)
    return frozenset(
        (op.x + left + int(c), op.baseline + top + int(r))
        for r, c in zip(rows, columns, strict=True)
    )


def _glyph(op: TextOp, index: int, painted: npt.NDArray[np.uint8]) -> set[tuple[int, int]]:
    """The painted pixels of character `index` of `op`: what its prefix adds."""
    added = _prefix_ink(op, index + 1) - _prefix_ink(op, index)
    return {(x, y) for x, y in added if painted[y, x] == op.colour}


# A pixel and its eight neighbours: two glyphs with paper between them, diagonals
# included, have no pixel of one among the neighbours of the other.
_NEIGHBOURHOOD = tuple((dx, dy) for dx in (-1, 0, 1) for dy in (-1, 0, 1))


def _paper_between(first: set[tuple[int, int]], second: set[tuple[int, int]]) -> int:
    """-1 when the glyphs share a pixel (or one is not drawn), 0 when they touch at an
    edge or a corner, 1 when at least a pixel of paper parts them."""
    if not first or not second or first & second:
        return -1  # one digit drawn over the other
    around_first = {(x + dx, y + dy) for x, y in first for dx, dy in _NEIGHBOURHOOD}
    return 0 if around_first & second else 1


def _touching_digits(
    model: DisplayModel, content: LabelContent
) -> list[tuple[str, str, int, str, int]]:
    """(region, text, size, pair, paper px between) for every pair of digits in a row
    with less than one pixel of paper between them."""
    elements: tuple[Element, ...] = layout_label(
        content, model=model, template=default_template(model)
    )
    painted = np.asarray(paint(elements, model=model))
    touching = []
    for element in elements:
        for op in element.ops:
            if not isinstance(op, TextOp):
                continue
            for index in range(len(op.text) - 1):
                if not (op.text[index].isdigit() and op.text[index + 1].isdigit()):
                    continue
                gap = _paper_between(_glyph(op, index, painted), _glyph(op, index + 1, painted))
                if gap < 1:
                    pair = op.text[index : index + 2]
                    touching.append((element.region, op.text, op.size, pair, gap))
    return touching


def _labels() -> list[tuple[str, DisplayModel, LabelContent]]:
    """Every model's labels: the legibility matrix (every kind and locale), its prices
    ten times higher, the shared samples, and prices with "44" and "74"."""
    labels = []
    for case in sample_matrix(full=True, models=tuple(DISPLAY_MODELS)):
        labels.append((case.id, case.model, case.content))
        content = case.content
        scaled = {
            name: getattr(content, name) * 10
            for name in ("price", "regular_price", "prior_price", "unit_price")
            if isinstance(getattr(content, name), Decimal)
        }
        labels.append((case.id + "/x10", case.model, replace(content, **scaled)))
    for model in DISPLAY_MODELS.values():
        for name, sample in (("plain", PLAIN), ("promotion", PROMOTION), ("multi", MULTI_BUY)):
            labels.append((f"{model.id}/{name}", model, sample))
        for price in ("3.44", "44.74", "474.44"):
            reduced = label_content(ContentKind.REDUCTION, "pl_PL", 0)
            amount = Decimal(price)
            reduced = replace(reduced, price=amount, unit_price=amount * 2,
                              regular_price=amount + 1, prior_price=amount + 1,
                              promotion_text="-10%")  # fmt: skip
            labels.append((f"{model.id}/reduced-{price}", model, reduced))
    return labels


def test_a_bold_44_at_28_px_keeps_paper_between_its_fours() -> None:
    """The case seen: the decimals "44" of a 2.9" promotion price at 28 px."""
    model = DISPLAY_MODELS["2.9-bwr"]
    content = replace(PROMOTION, price=Decimal("3.44"), promotion_text="-50%")
    elements = layout_label(content, model=model, template=default_template(model))
    decimals = [op for e in elements for op in e.ops if isinstance(op, TextOp) and op.text == "44"]
    assert [op.size for op in decimals] == [28]
    assert _touching_digits(model, content) == []


@pytest.mark.slow
def test_no_two_digits_in_a_row_touch_on_any_shipped_model() -> None:
    touching = {}
    labels = _labels()
    for label, model, content in labels:
        found = _touching_digits(model, content)
        if found:
            touching[label] = found
    assert len(labels) > 500
    assert touching == {}, "\n".join(f"{k}: {v[:3]}" for k, v in list(touching.items())[:20])
