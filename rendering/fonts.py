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
    costs one FreeType render per line, and texts shared by many labels ("zł", "Cena za
    1 kg") are rendered once. The box is the ink's exact bounds.
    """
    mono = size < HINTED_MONO_BELOW_PX
    face, features = shaping(weight, size, text)
    core, (dx, dy) = face.getmask2(text, "1" if mono else "L", anchor="ls", features=features)
    width, height = core.size
    coverage = np.frombuffer(bytes(core), dtype=np.uint8).reshape(height, width)
    ink = coverage > 0 if mono else coverage >= INK_THRESHOLD
    rows, cols = np.nonzero(ink)
    if rows.size == 0:
        empty = Image.new("L", (0, 0)).im
        return TextMask(mask=empty, box=(dx, dy, dx, dy))
    top, bottom, left, right = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
    trimmed = np.where(ink[top:bottom, left:right], 255, 0).astype(np.uint8)
    mask = Image.fromarray(trimmed).im
    return TextMask(
        mask=mask, box=(dx + int(left), dy + int(top), dx + int(right), dy + int(bottom))
    )


@dataclass(frozen=True, slots=True)
class TextMask:
    mask: ImagingCore
    box: tuple[int, int, int, int]  # ink bounds relative to the baseline's left end
