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


@cache
def shaping(weight: Weight, size: int) -> tuple[ImageFont.FreeTypeFont, list[str] | None]:
    """The face and OpenType features text of `size` is laid out and drawn with.

    Below `HINTED_MONO_BELOW_PX` hinted glyphs are placed at hinted (whole-pixel)
    advances by Pillow's basic layout: HarfBuzz's unhinted advances put a glyph widened by
    monochrome hinting against its neighbour ("do28.11" for "do 28.11", "Ś mietana"). The
    basic layout applies no OpenType features, so that small text has the face's
    proportional figures; larger text has tabular ones.
    """
    if size < HINTED_MONO_BELOW_PX:
        path = str(font_path(weight))
        return ImageFont.truetype(path, size, layout_engine=ImageFont.Layout.BASIC), None
    return font(weight, size), list(FEATURES)


@lru_cache(maxsize=16384)
def text_mask(weight: Weight, size: int, text: str) -> TextMask:
    """`text` as a one-bit mask (0 or 255), anchored at the left end of its baseline.

    Layout measures a line by rendering it; painting pastes the same mask, so a label
    costs one FreeType render per line, and texts shared by many labels ("zł", "Cena za
    1 kg") are rendered once. The box is the ink's exact bounds.
    """
    mono = size < HINTED_MONO_BELOW_PX
    face, features = shaping(weight, size)
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
