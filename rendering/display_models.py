"""The display models labels come in, as a table of data.

Adding a model is adding one `DisplayModel(...)` line to `_TABLE`: templates pick their
layout by `size_class`, and the encoder only needs `width`, `height` and whether an
accent plane exists.

`width` x `height` is the image as a shopper reads it (a 2.9" label mounted landscape is
296 x 128). `orientation` records how the label is mounted; the firmware rotates into
the panel's own scan order, so every byte the controller sends is in reading order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from rendering.errors import UnknownDisplayModelError

__all__ = [
    "COLOUR_RGB",
    "DISPLAY_MODELS",
    "DisplayModel",
    "Orientation",
    "SizeClass",
    "get_display_model",
]

# The pure ink colours an e-paper panel shows; previews use exactly these RGB values.
COLOUR_RGB: MappingProxyType[str, tuple[int, int, int]] = MappingProxyType(
    {
        "white": (255, 255, 255),
        "black": (0, 0, 0),
        "red": (204, 0, 0),
        "yellow": (242, 196, 0),
    }
)


class Orientation(StrEnum):
    LANDSCAPE = "landscape"
    PORTRAIT = "portrait"


class SizeClass(StrEnum):
    """Which default template a model uses: layouts scale within a class, not across."""

    SMALL = "small"  # squarish, about 1.5": name, price, barcode
    MEDIUM = "medium"  # the common shelf strip, 2.1" to 2.9"
    LARGE = "large"  # 4.2" and up: room for every element


@dataclass(frozen=True, slots=True)
class DisplayModel:
    id: str
    diagonal_inches: float
    width: int
    height: int
    colours: tuple[str, ...]
    orientation: Orientation
    size_class: SizeClass
    # The smallest em size (pixels) text is drawn at on this panel: below it the letters
    # of Fira Sans Condensed stop reading reliably (measured with tesseract, see
    # docs/templates.md). Names shrink to it and then end in "…"; price lines go below
    # it only when nothing else fits.
    min_text_px: int = 11

    def __post_init__(self) -> None:
        if self.width <= 0 or self.height <= 0:
            raise ValueError(f"{self.id}: width and height must be positive")
        if self.colours[:2] != ("white", "black") or len(self.colours) > 3:
            raise ValueError(f"{self.id}: colours are white, black and at most one accent")
        if self.min_text_px < 6:
            raise ValueError(f"{self.id}: min_text_px below 6 cannot draw a letter")
        unknown = set(self.colours) - set(COLOUR_RGB)
        if unknown:
            raise ValueError(f"{self.id}: unknown colours {sorted(unknown)}")

    @property
    def pixel_pitch_mm(self) -> float:
        """The side of one pixel on the panel, in millimetres (square pixels)."""
        return self.diagonal_inches * 25.4 / math.hypot(self.width, self.height)

    @property
    def accent(self) -> str | None:
        """The accent colour's name (promotions are drawn in it), or None on black/white."""
        return self.colours[2] if len(self.colours) == 3 else None

    @property
    def has_accent(self) -> bool:
        return len(self.colours) == 3

    @property
    def palette(self) -> tuple[tuple[int, int, int], ...]:
        """RGB per palette index: 0 white, 1 black, 2 accent (if any)."""
        return tuple(COLOUR_RGB[name] for name in self.colours)


_BW = ("white", "black")
_BWR = ("white", "black", "red")
_BWY = ("white", "black", "yellow")
_L = Orientation.LANDSCAPE

_TABLE = (
    DisplayModel("1.54-bw", 1.54, 152, 152, _BW, _L, SizeClass.SMALL, 10),
    DisplayModel("1.54-bwr", 1.54, 152, 152, _BWR, _L, SizeClass.SMALL, 10),
    DisplayModel("2.13-bw", 2.13, 250, 122, _BW, _L, SizeClass.MEDIUM, 11),
    DisplayModel("2.13-bwr", 2.13, 250, 122, _BWR, _L, SizeClass.MEDIUM, 11),
    DisplayModel("2.13-bwy", 2.13, 250, 122, _BWY, _L, SizeClass.MEDIUM, 11),
    DisplayModel("2.6-bwr", 2.6, 296, 152, _BWR, _L, SizeClass.MEDIUM, 12),
    DisplayModel("2.9-bw", 2.9, 296, 128, _BW, _L, SizeClass.MEDIUM, 11),
    DisplayModel("2.9-bwr", 2.9, 296, 128, _BWR, _L, SizeClass.MEDIUM, 11),
    DisplayModel("2.9-bwy", 2.9, 296, 128, _BWY, _L, SizeClass.MEDIUM, 11),
    DisplayModel("4.2-bwr", 4.2, 400, 300, _BWR, _L, SizeClass.LARGE, 13),
    DisplayModel("4.2-bwy", 4.2, 400, 300, _BWY, _L, SizeClass.LARGE, 13),
    DisplayModel("7.5-bw", 7.5, 800, 480, _BW, _L, SizeClass.LARGE, 16),
    DisplayModel("7.5-bwr", 7.5, 800, 480, _BWR, _L, SizeClass.LARGE, 16),
)

DISPLAY_MODELS: MappingProxyType[str, DisplayModel] = MappingProxyType({m.id: m for m in _TABLE})


def get_display_model(model_id: str) -> DisplayModel:
    try:
        return DISPLAY_MODELS[model_id]
    except KeyError:
        raise UnknownDisplayModelError(model_id) from None
