"""Typography for 1-bit panels: strokes, dots, counters and contrast survive rasterisation.

The issue's labels lost the stroke of ł ("Wisla", "zl"), drew a bold 8 that read as 6
and printed yellow digits on white; these tests look at the pixels that reach the panel.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import numpy as np
import pytest

from esl.label_legibility import CONTENT_KINDS, LOCALES, label_content
from rendering.content import LabelContent
from rendering.contrast import carries_text
from rendering.display_models import DISPLAY_MODELS, DisplayModel
from rendering.fonts import Weight, text_mask
from rendering.layout import ELLIPSIS, WHITE, BoxOp, TextOp, layout_label
from rendering.render import render_label
from rendering.templates import Fill, default_template
from tests.rendering.default_layout import elements_showing
from tests.rendering.every_model import MODELS
from tests.rendering.label_samples import LONG, PLAIN, PROMOTION

# Every em size text is drawn at: from the smallest panel minimum to a large headline.
SIZES = range(min(m.min_text_px for m in MODELS), 41)


def _pixels(weight: Weight, size: int, text: str) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    rendered = text_mask(weight, size, text)
    left, top, right, bottom = rendered.box
    ink = np.frombuffer(bytes(rendered.mask), dtype=np.uint8).reshape(bottom - top, right - left)
    return ink > 0, rendered.box


def _crosses_stem(ink: np.ndarray) -> bool:
    """Ink on both sides of the glyph's vertical stem (the foot rows aside, where l turns)."""
    body = ink[: max(1, ink.shape[0] - 2)]
    stem = np.nonzero(body.sum(axis=0) >= 0.6 * body.shape[0])[0]
    if stem.size == 0:
        return False
    return bool(body[:, : stem.min()].any() and body[:, stem.max() + 1 :].any())


def _holes(ink: np.ndarray) -> int:
    """Enclosed paper regions (counters) of a glyph: paper not reachable from the border."""
    paper = np.pad(~ink, 1, constant_values=True)
    seen = np.zeros_like(paper)
    sizes = []
    for start in zip(*np.nonzero(paper), strict=True):
        if seen[start]:
            continue
        stack = [start]
        seen[start] = True
        count = 0
        while stack:
            row, col = stack.pop()
            count += 1
            for near in ((row + 1, col), (row - 1, col), (row, col + 1), (row, col - 1)):
                inside = 0 <= near[0] < paper.shape[0] and 0 <= near[1] < paper.shape[1]
                if inside and paper[near] and not seen[near]:
                    seen[near] = True
                    stack.append(near)
        sizes.append(count)
    # The first region is the outside; a single paper pixel inside a stroke is no counter.
    return sum(1 for size in sizes[1:] if size >= 2)


@pytest.mark.parametrize("weight", list(Weight))
def test_polish_letters_keep_their_strokes_dots_and_tails_at_every_size(weight: Weight) -> None:
    for size in SIZES:
        where = (weight, size)
        # The stroke of ł and Ł crosses the stem: "Wisła" must not print "Wisla".
        for plain, stroked in (("l", "ł"), ("L", "Ł")):
            assert _crosses_stem(_pixels(weight, size, stroked)[0]), (*where, stroked)
            assert not _crosses_stem(_pixels(weight, size, plain)[0]), (*where, plain)
        # The dot of ż stands clear above the z; the ogonek of ą hangs below the baseline.
        _, z_box = _pixels(weight, size, "z")
        dot_ink, dot_box = _pixels(weight, size, "ż")
        assert dot_box[1] < z_box[1] - 1, where
        assert (~dot_ink.any(axis=1))[: z_box[1] - dot_box[1]].any(), where
        _, a_box = _pixels(weight, size, "a")
        _, ogonek_box = _pixels(weight, size, "ą")
        assert ogonek_box[3] > a_box[3], where


@pytest.mark.parametrize("weight", list(Weight))
def test_digits_keep_their_counters_open_at_every_size(weight: Weight) -> None:
    """A bold 8 whose upper counter fills in reads as 6; a 0 without its counter is a blot."""
    for size in SIZES:
        counters = {digit: _holes(_pixels(weight, size, digit)[0]) for digit in "0689"}
        assert counters["8"] == 2, (weight, size, counters)
        assert counters["0"] == 1, (weight, size, counters)
        assert counters["6"] >= 1, (weight, size, counters)
        assert counters["9"] >= 1, (weight, size, counters)


def _matrix() -> Iterator[tuple[DisplayModel, LabelContent]]:
    for model in MODELS:
        for index, kind in enumerate(CONTENT_KINDS):
            for locale in LOCALES:
                yield model, label_content(kind, locale, index)
        for content in (PLAIN, PROMOTION):
            yield model, content


def test_no_text_is_drawn_below_the_panels_minimum_size() -> None:
    """Names, badges, the unit price and the prior price of realistic labels (barcode digits
    are part of the code's symbol and sized by it)."""
    for model, content in _matrix():
        template = default_template(model)
        fills = {region.name: region.fill for region in template.regions}
        for element in layout_label(content, model=model, template=template):
            if fills[element.region] is Fill.EAN13:
                continue
            for op in element.ops:
                if isinstance(op, TextOp):
                    where = (model.id, content.locale, element.region, op.text, op.size)
                    assert op.size >= model.min_text_px, where


def test_no_l_on_a_label_is_drawn_as_an_l_shaped_bar() -> None:
    """Hinted monochrome squares the curved foot of Fira's l into a flat bar three pixels
    wide at regular 15 px: "Price per 1 litre" read as "Litre". No line with an "l" is
    drawn at such a size (layout takes a steady size below it)."""
    for model, content in _matrix():
        template = default_template(model)
        for element in layout_label(content, model=model, template=template):
            for op in element.ops:
                if isinstance(op, TextOp) and "l" in op.text:
                    ink, _ = _pixels(op.weight, op.size, "l")
                    stem = int(ink[ink.shape[0] // 2].sum())
                    foot, above = int(ink[-1].sum()), int(ink[-2].sum())
                    squared = foot >= 3 * stem and above <= stem
                    assert not squared, (model.id, element.region, op.text, op.size)


def test_every_text_has_contrast_on_what_it_is_drawn_on() -> None:
    """No yellow digits on white, no white text on yellow (WCAG AA, 4.5:1)."""
    for model, content in _matrix():
        template = default_template(model)
        for element in layout_label(content, model=model, template=template):
            fields = [op for op in element.ops if isinstance(op, BoxOp)]
            for op in element.ops:
                if not isinstance(op, TextOp):
                    continue
                under = [
                    box.colour for box in fields
                    if box.left <= op.x < box.right and box.top <= op.baseline <= box.bottom
                ]  # fmt: skip
                background = model.palette[under[-1] if under else WHITE]
                where = (model.id, element.region, op.text)
                assert carries_text(model.palette[op.colour], background), where


def test_yellow_promotions_are_black_text_on_a_yellow_field() -> None:
    model = DISPLAY_MODELS["2.9-bwy"]
    image = np.asarray(render_label(PROMOTION, model=model))
    (price,) = elements_showing(PROMOTION, model, Fill.PRICE)
    left, top, right, bottom = price.box
    area = image[top:bottom, left:right]
    assert (area == 1).sum() > 300  # the digits are black
    assert (area == 2).sum() > (area == 1).sum()  # on a yellow field


def test_a_name_that_does_not_fit_ends_in_an_ellipsis_after_a_whole_word() -> None:
    model = DISPLAY_MODELS["2.9-bwr"]
    names = [
        LONG.name,
        "Kiełbasa śląska wędzona z beczki, pieczona w piecu opalanym drewnem bukowym, "
        "krojona w plastry, pakowana próżniowo po dwieście gramów",
        "Czekolada gorzka Wedel 80% kakao z kawałkami pomarańczy i migdałami, tabliczka "
        "stugramowa w opakowaniu zbiorczym po dwadzieścia sztuk",
    ]
    for name in names:
        for content in (replace(PLAIN, name=name), replace(PROMOTION, name=name)):
            (element,) = elements_showing(content, model, Fill.PRODUCT_NAME)
            shown = " ".join(op.text for op in element.ops if isinstance(op, TextOp))
            assert shown.endswith(ELLIPSIS), shown
            kept = shown.removesuffix(ELLIPSIS)
            assert name.startswith(kept), (kept, name)
            # The cut falls between words: what follows in the name starts a new word
            # (a trailing comma before the cut is dropped with the space).
            rest = name[len(kept) :]
            assert rest[:1] in {" ", ","}, (kept, rest)
