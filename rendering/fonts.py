"""Fonts come from a Python package, never from the system, so every machine draws the same pixels.

`fontpkg-roboto-condensed` ships Roboto Condensed as one variable TTF (weights 100-900);
it covers Latin Extended (Polish ą ę ł ż ź ó ś ć ń, German, Czech ...). We set the weight
axis ourselves and keep one font object per (weight, pixel size).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import cache, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import fontpkg
from PIL import ImageFont

if TYPE_CHECKING:
    from PIL._imaging import ImagingCore  # only a stub: the C type has no Python name

__all__ = ["FONT_FAMILY", "TextMask", "Weight", "font", "font_path", "text_mask"]

FONT_FAMILY = "Roboto Condensed"


class Weight(StrEnum):
    REGULAR = "regular"
    BOLD = "bold"


_AXIS_VALUE = {Weight.REGULAR: 400.0, Weight.BOLD: 700.0}


@cache
def font_path() -> Path:
    """The TTF file inside the installed font package."""
    return Path(fontpkg.path(FONT_FAMILY, 400))


@cache
def font(weight: Weight, size: int) -> ImageFont.FreeTypeFont:
    """Roboto Condensed at `size` pixels (em height) and `weight`."""
    loaded = ImageFont.truetype(str(font_path()), size)
    axes = loaded.get_variation_axes()
    values = [
        _AXIS_VALUE[weight]
        if _axis_name(axis["name"]) in {"weight", "wght"}
        else float(axis["default"] or 0)
        for axis in axes
    ]
    loaded.set_variation_by_axes(values)
    return loaded


def _axis_name(name: object) -> str:
    text = name.decode("ascii", "replace") if isinstance(name, bytes) else str(name)
    return text.strip().lower()


@lru_cache(maxsize=16384)
def text_mask(weight: Weight, size: int, text: str) -> TextMask:
    """`text` rendered without anti-aliasing, anchored at the left end of its baseline.

    Layout measures a line by rendering it; painting pastes the same mask, so a label
    costs one FreeType render per line, and texts shared by many labels ("zł", "Cena za
    1 kg") are rendered once.
    """
    mask, (dx, dy) = font(weight, size).getmask2(text, "1", anchor="ls")
    width, height = mask.size
    return TextMask(mask=mask, box=(dx, dy, dx + width, dy + height))


@dataclass(frozen=True, slots=True)
class TextMask:
    mask: ImagingCore
    box: tuple[int, int, int, int]  # ink bounds relative to the baseline's left end
