"""Fonts come from a Python package, never from the system, so every machine draws the same pixels.

`fontpkg-fira-sans-condensed` ships Fira Sans Condensed as static, hinted TTFs (one file
per weight). Fira was drawn for small phone screens: its hinting holds stems, the stroke
of ł and the counters of 8 and 0 at 10-12 pixels, which a variable font rendered in
monochrome did not (Roboto Condensed lost the ł stroke and drew a bold 8 as a 6). It
covers Latin Extended (Polish ą ę ł ż ź ó ś ć ń, German, Czech ...).

Rasterisation to one bit per pixel (measured with tesseract on every label size, see
docs/templates.md):

- below `HINTED_MONO_BELOW_PX` the glyphs are rendered by FreeType's hinted monochrome
  mode, which snaps stems and bars to whole pixels for a bilevel target (what ESL
  firmwares' bitmap fonts are made of);
- from there up they are rendered in grey-scale (hinted at the target size) and cut at
  `INK_THRESHOLD`, half coverage: thin strokes keep their true weight and bold counters
  stay open, where monochrome rounding thickens or drops a column.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import cache, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import fontpkg
import numpy as np
import numpy.typing as npt
from PIL import Image, ImageFont

if TYPE_CHECKING:
    from PIL._imaging import ImagingCore  # only a stub: the C type has no Python name

__all__ = [
    "FEATURES",
    "FONT_FAMILY",
    "HINTED_MONO_BELOW_PX",
    "INK_THRESHOLD",
    "TextMask",
    "Weight",
    "font",
    "font_path",
    "forget_drawn_text",
    "shaping",
    "text_mask",
]

FONT_FAMILY = "Fira Sans Condensed"
# Below this em size the hinted monochrome rasteriser reads better (OCR and eye) than a
# threshold of grey-scale coverage; at and above it, grey-scale plus threshold does.
HINTED_MONO_BELOW_PX = 16
# Grey-scale coverage (0-255) from which a pixel is ink: half coverage.
INK_THRESHOLD = 128
# Tabular figures: every digit has one width, so prices line up and a changed digit moves
# no other glyph (a price update redraws the digits, not the whole line).
FEATURES = ("tnum",)


class Weight(StrEnum):
    REGULAR = "regular"
    BOLD = "bold"


_WEIGHT_VALUE = {Weight.REGULAR: 400, Weight.BOLD: 700}


@cache
def font_path(weight: Weight = Weight.REGULAR) -> Path:
    """The TTF file of `weight` inside the installed font package."""
    return Path(fontpkg.path(FONT_FAMILY, _WEIGHT_VALUE[weight]))


@cache
def font(weight: Weight, size: int) -> ImageFont.FreeTypeFont:
    """Fira Sans Condensed at `size` pixels (em height) and `weight`."""
    return ImageFont.truetype(str(font_path(weight)), size)


def shaping(
    weight: Weight, size: int, text: str
) -> tuple[ImageFont.FreeTypeFont, list[str] | None]:
    """The face and OpenType features `text` at `size` is laid out and drawn with.

    Below `HINTED_MONO_BELOW_PX` a text without digits is placed at hinted (whole-pixel)
    advances by Pillow's basic layout: HarfBuzz's unhinted advances put a glyph widened by
    monochrome hinting against its neighbour ("Ś mietana", uneven gaps in names). Text
    with digits keeps the tabular figures (OpenType, so HarfBuzz): a price change then
    moves no other glyph of its line, which keeps the update small (docs/encoding.md).
    """
    if size < HINTED_MONO_BELOW_PX and not any(character.isdigit() for character in text):
        return _hinted(weight, size), None
    return font(weight, size), list(FEATURES)


@cache
def _hinted(weight: Weight, size: int) -> ImageFont.FreeTypeFont:
    path = str(font_path(weight))
    return ImageFont.truetype(path, size, layout_engine=ImageFont.Layout.BASIC)


@lru_cache(maxsize=16384)
def text_mask(weight: Weight, size: int, text: str) -> TextMask:
    """`text` as a one-bit mask (0 or 255), anchored at the left end of its baseline.

    Layout measures a line by rendering it; painting pastes the same mask, so a label
    costs one FreeType render per line (per digit and run of other characters in a line
    with digits), and texts shared by many labels ("zł", "Cena za 1 kg") are rendered
    once. The box is the ink's exact bounds. Two digits in a row that the face would draw
    touching stand a pixel or two further apart (`spacing`).
    """
    if any(character.isdigit() for character in text):
        ink, dx, dy, added = _spaced_ink(weight, size, text)
    else:
        (ink, dx, dy), added = _ink(weight, size, text, 0.0), 0
    rows, cols = np.nonzero(ink)
    if rows.size == 0:
        empty = Image.new("L", (0, 0)).im
        return TextMask(mask=empty, box=(dx, dy, dx, dy), spacing=added)
    top, bottom, left, right = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
    trimmed = np.where(ink[top:bottom, left:right], 255, 0).astype(np.uint8)
    mask = Image.fromarray(trimmed).im
    box = (dx + int(left), dy + int(top), dx + int(right), dy + int(bottom))
    return TextMask(mask=mask, box=box, spacing=added)


def forget_drawn_text() -> None:
    """Forget every text and glyph piece drawn so far (a benchmark's cold start)."""
    text_mask.cache_clear()
    _ink.cache_clear()
    _pen.cache_clear()


@dataclass(frozen=True, slots=True)
class TextMask:
    mask: ImagingCore
    box: tuple[int, int, int, int]  # ink bounds relative to the baseline's left end
    spacing: int = 0  # pixels added between digits that would touch (`DIGIT_GAP_PX`)


@lru_cache(maxsize=4096)
def _ink(
    weight: Weight, size: int, text: str, start: float, *, tabular: bool = False
) -> tuple[npt.NDArray[np.bool_], int, int]:
    """The ink of `text` (untrimmed; read-only, it is cached) and the offset of its top
    left from the pen at `start` (a fraction of a pixel) on the baseline."""
    mono = size < HINTED_MONO_BELOW_PX
    # A piece of a line with digits is shaped as that line is (`tabular`).
    face, features = (
        (font(weight, size), list(FEATURES)) if tabular else shaping(weight, size, text)
    )
    core, (dx, dy) = face.getmask2(
        text, "1" if mono else "L", anchor="ls", features=features, start=(start, 0)
    )
    width, height = core.size
    coverage = np.frombuffer(bytes(core), dtype=np.uint8).reshape(height, width)
    return (coverage > 0 if mono else coverage >= INK_THRESHOLD), dx, dy


def digit_pairs(text: str) -> int:
    """How many times a digit, or a decimal or group sign, follows a digit or such a sign
    after a digit in `text` (where tracking is added): 3 in "7,49" (",", "4", "9")."""
    return sum(1 for i in range(1, len(text)) if _kept_apart(text, i) and _kept_apart(text, i - 1))


# Digits closer than this (in pixels, diagonals included) read as one blob: Fira's
# hinted tabular digits fill their whole advance at some sizes and pen positions (bold
# "44" at 28 px, the decimals of a 2.9" promotion price; bold "30" at 13 px).
DIGIT_GAP_PX = 1
_MAX_SPACING_PX = 3


def _spaced_ink(
    weight: Weight, size: int, text: str
) -> tuple[npt.NDArray[np.bool_], int, int, int]:
    """`text` drawn in pieces, each digit on its own, placed where the face places it
    plus the pixels that keep every digit `DIGIT_GAP_PX` from the digit or number sign
    before it, and a decimal or group sign (the "," and "." of "1,380.000") that far from
    the digit before it: 0 for most pairs (tabular digits have no kerning to lose). Also
    returns the pixels added."""
    # Every digit on its own, and every sign after a digit, so a prefix of `text` is drawn
    # exactly as in `text`.
    kept_apart = [_kept_apart(text, i) for i in range(len(text))]
    cuts = [i for i in range(1, len(text)) if kept_apart[i] or kept_apart[i - 1]]
    pieces = []
    added = 0
    previous: tuple[npt.NDArray[np.bool_], int, int] | None = None
    for begin, end in zip([0, *cuts], [*cuts, len(text)], strict=True):
        pen = _pen(weight, size, text[:begin])
        for extra in range(_MAX_SPACING_PX + 1):
            whole = int(pen + added + extra)
            fraction = pen + added + extra - whole
            ink, dx, dy = _ink(weight, size, text[begin:end], fraction, tabular=True)
            placed = (ink, whole + dx, dy)
            if previous is None or not kept_apart[begin] or _apart(previous, placed):
                break
        added += extra
        pieces.append(placed)
        previous = placed if kept_apart[begin] else None
    left = min(dx for _, dx, _ in pieces)
    top = min(dy for _, _, dy in pieces)
    right = max(dx + ink.shape[1] for ink, dx, _ in pieces)
    bottom = max(dy + ink.shape[0] for ink, _, dy in pieces)
    canvas = np.zeros((bottom - top, right - left), dtype=bool)
    for ink, dx, dy in pieces:
        height, width = ink.shape
        canvas[dy - top : dy - top + height, dx - left : dx - left + width] |= ink
    return canvas, left, top, added


# The signs inside a number: decimal and group signs (de_CH groups with "'" or "’").
_NUMBER_SIGNS = frozenset(".,'\u2019")


def _kept_apart(text: str, index: int) -> bool:
    """Whether character `index` of `text` is kept `DIGIT_GAP_PX` from a digit or number
    sign before it: a digit, or a decimal or group sign right after a digit. Drawn against
    a digit, the sign is lost: "1.380,000" read "1380,000", a thousand times more."""
    character = text[index]
    if character.isdigit():
        return True
    return character in _NUMBER_SIGNS and index > 0 and text[index - 1].isdigit()


@lru_cache(maxsize=65536)
def _pen(weight: Weight, size: int, prefix: str) -> float:
    """Where a line with digits (shaped with `FEATURES`) puts the pen after `prefix`:
    lines share their beginnings ("do 3", "Cena za 1 "), so each is measured once."""
    return float(font(weight, size).getlength(prefix, features=list(FEATURES)))


def _apart(
    first: tuple[npt.NDArray[np.bool_], int, int],
    second: tuple[npt.NDArray[np.bool_], int, int],
) -> bool:
    """No ink of `second` within `DIGIT_GAP_PX` of `first`'s (each: ink, left, top)."""
    (ink_a, xa, ya), (ink_b, xb, yb) = first, second
    pad = DIGIT_GAP_PX
    if xb >= xa + ink_a.shape[1] + pad or yb >= ya + ink_a.shape[0] + pad:
        return True  # boxes apart by the gap already
    if xb + ink_b.shape[1] + pad <= xa or yb + ink_b.shape[0] + pad <= ya:
        return True
    left, top = min(xa, xb) - pad, min(ya, yb) - pad
    right = max(xa + ink_a.shape[1], xb + ink_b.shape[1]) + pad
    bottom = max(ya + ink_a.shape[0], yb + ink_b.shape[0]) + pad
    near = np.zeros((bottom - top, right - left), dtype=bool)
    near[ya - top : ya - top + ink_a.shape[0], xa - left : xa - left + ink_a.shape[1]] = ink_a
    for _ in range(pad):
        grown = near.copy()
        grown[1:, :] |= near[:-1, :]
        grown[:-1, :] |= near[1:, :]
        grown[:, 1:] |= grown[:, :-1].copy()
        grown[:, :-1] |= grown[:, 1:].copy()
        near = grown
    window = near[yb - top : yb - top + ink_b.shape[0], xb - left : xb - left + ink_b.shape[1]]
    return not bool((window & ink_b).any())
