"""Barcodes and QR codes on a label: geometry a scanner reads, or the reason there is none.

A code that is drawn must scan; one that cannot be drawn so that it scans is not drawn,
and the reason is reported (`CodeNotDrawn`), never dropped in silence.

- EAN-13 (GS1 General Specifications 5.2): 95 modules of whole pixels, a quiet zone of at
  least 11 modules on the left and 7 on the right inside the region, the leading digit
  printed in the left quiet zone and the other twelve under the bars, at the display
  model's minimum text size or more (read when the scanner fails; a region that cannot
  hold them so draws no barcode and says why). A 12-digit UPC-A
  is drawn as the EAN-13 it is (leading 0), and so is a GTIN-14 with indicator 0 (a GTIN
  stored in 14 digits, as GS1 advises). GTIN-8 and other GTIN-14s are not drawn (such a
  GTIN-14 names a trade unit, not what a shopper buys).
- QR (ISO/IEC 18004): error correction M, a quiet zone of 4 modules inside the region,
  and modules of at least `QR_MIN_MODULE_MM` on the panel, so a phone reads it at arm's
  length: a 12 MP camera spreads about 4,000 pixels over a 70 degree view, which at
  50 cm is 5.7 camera pixels per millimetre, so a 0.5 mm module covers about three,
  what decoders need.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

import qrcode
import qrcode.constants

from pricing.gtin import gtin_check_digit
from rendering.fonts import Weight, text_mask

__all__ = [
    "EAN13_QUIET_LEFT",
    "EAN13_QUIET_RIGHT",
    "QR_MIN_MODULE_MM",
    "QR_QUIET_MODULES",
    "Bar",
    "CodeDrawing",
    "CodeNotDrawn",
    "CodeText",
    "ean13_digits",
    "ean13_drawing",
    "ean13_modules",
    "qr_drawing",
    "qr_matrix",
]

EAN13_QUIET_LEFT: Final = 11
EAN13_QUIET_RIGHT: Final = 7
_EAN13_SYMBOL: Final = 95
_EAN13_SPAN: Final = EAN13_QUIET_LEFT + _EAN13_SYMBOL + EAN13_QUIET_RIGHT
_MIN_BAR_PX: Final = 10  # shorter bars leave a hand scanner too little to aim at
_MIN_DIGIT_PX: Final = 6
QR_QUIET_MODULES: Final = 4
QR_MIN_MODULE_MM: Final = 0.5


@dataclass(frozen=True, slots=True)
class Bar:
    """A dark rectangle; right and bottom exclusive."""

    left: int
    top: int
    right: int
    bottom: int


@dataclass(frozen=True, slots=True)
class CodeText:
    """Human-readable digits: `text` with the left end of its baseline at (x, baseline)."""

    x: int
    baseline: int
    text: str
    size: int
    weight: Weight = Weight.REGULAR


@dataclass(frozen=True, slots=True)
class CodeDrawing:
    bars: tuple[Bar, ...]
    texts: tuple[CodeText, ...]


@dataclass(frozen=True, slots=True)
class CodeNotDrawn:
    """Why a code the template asks for is not on the label."""

    reason: str


# ---------------------------------------------------------------- EAN-13

_EAN_L = ("0001101", "0011001", "0010011", "0111101", "0100011",
          "0110001", "0101111", "0111011", "0110111", "0001011")  # fmt: skip
_EAN_G = tuple(code.translate(str.maketrans("01", "10"))[::-1] for code in _EAN_L)
_EAN_R = tuple(code.translate(str.maketrans("01", "10")) for code in _EAN_L)
_EAN_PARITY = ("LLLLLL", "LLGLGG", "LLGGLG", "LLGGGL", "LGLLGG",
               "LGGLLG", "LGGGLL", "LGLGLG", "LGLGGL", "LGGLGL")  # fmt: skip
_GUARDS = frozenset({0, 1, 2, 45, 46, 47, 48, 49, 92, 93, 94})


def ean13_digits(gtin: str) -> str | None:
    """The 13 digits of an EAN-13 (a 12-digit UPC-A gets its leading 0; a GTIN-14 with
    indicator 0, the form GS1 advises storing every GTIN in, loses it) with a valid
    check digit, or None. Leading zeros leave the check digit as it is: it is weighed
    from the right."""
    digits = "0" + gtin if len(gtin) == 12 else gtin
    if len(gtin) == 14 and gtin.startswith("0"):
        digits = gtin[1:]
    if len(digits) != 13 or not digits.isascii() or not digits.isdigit():
        return None
    return digits if gtin_check_digit(digits[:12]) == int(digits[12]) else None


def ean13_modules(gtin: str) -> str | None:
    """The 95 modules ("1" = bar) of an EAN-13, or None when `gtin` is not a valid one:
    a wrong barcode is worse than none."""
    digits = ean13_digits(gtin)
    if digits is None:
        return None
    parity = _EAN_PARITY[int(digits[0])]
    left = "".join(
        (_EAN_L if p == "L" else _EAN_G)[int(d)] for p, d in zip(parity, digits[1:7], strict=True)
    )
    right = "".join(_EAN_R[int(d)] for d in digits[7:])
    return "101" + left + "01010" + right + "101"


def _ean13_refusal(gtin: str) -> str:
    if not gtin:
        return "the product has no GTIN"
    if len(gtin) == 8:
        return f"GTIN-8 {gtin} is not drawn: the layout draws EAN-13 and UPC-A only"
    if len(gtin) == 14:
        return f"GTIN-14 {gtin} names a trade unit (indicator {gtin[0]}), not a shelf barcode"
    return f"GTIN {gtin!r} is not a valid EAN-13 or UPC-A (length or check digit)"


def _ink(size: int, text: str) -> tuple[int, int, int, int]:
    # The bounds of the pixels painting will set (same rasteriser, tabular figures), so
    # the digits are placed by what is drawn, not by FreeType's outline estimate.
    return text_mask(Weight.REGULAR, size, text).box


def ean13_drawing(
    gtin: str, *, box: tuple[int, int, int, int], min_text_px: int
) -> CodeDrawing | CodeNotDrawn:
    """The bars and digits of `gtin` inside `box`, or why they cannot be drawn there.

    The digits are drawn at `min_text_px` (the display model's minimum text size) or
    more: their size follows the module (10 modules + 2 px) where that is larger, and
    starts at the minimum where it is not (at one pixel a module a group of six fits
    between the guards up to 14 px). A region that cannot hold them at the minimum, in
    width or in height, draws no barcode and says why."""
    modules = ean13_modules(gtin)
    digits = ean13_digits(gtin)
    if modules is None or digits is None:
        return CodeNotDrawn(_ean13_refusal(gtin))
    width, height = box[2] - box[0], box[3] - box[1]
    module = width // _EAN13_SPAN
    if module < 1:
        return CodeNotDrawn(
            f"the region is {width} px wide; an EAN-13 with its GS1 quiet zones "
            f"({EAN13_QUIET_LEFT} + {_EAN13_SYMBOL} + {EAN13_QUIET_RIGHT} modules) "
            f"needs {_EAN13_SPAN} px"
        )
    floor = max(min_text_px, _MIN_DIGIT_PX)
    if height // 3 < floor:
        return CodeNotDrawn(
            f"the region is {height} px high: the barcode's digits need {floor} px (the "
            f"display model's minimum) and the barcode three times that, {3 * floor} px"
        )
    quiet_left = box[0] + (width - _EAN13_SPAN * module) // 2
    x0 = quiet_left + EAN13_QUIET_LEFT * module
    groups = (
        (digits[0], quiet_left, x0 - module),  # the leading digit, in the left quiet zone
        (digits[1:7], x0 + 3 * module, x0 + 45 * module),
        (digits[7:], x0 + 50 * module, x0 + 92 * module),
    )
    size = min(height // 3, max(10 * module + 2, floor))
    while size >= floor and not all(
        _ink(size, text)[2] - _ink(size, text)[0] <= right - left - 1
        for text, left, right in groups
    ):
        size -= 1
    if size < floor:
        return CodeNotDrawn(
            f"the region is {width} px wide: the barcode's digits do not fit under its "
            f"bars at {floor} px (the display model's minimum) with {module} px a module; "
            f"{module + 1} px a module needs {_EAN13_SPAN * (module + 1)} px"
        )
    # The digits' own ink (hinting may set a glyph a pixel lower than the others).
    digits_top = min(_ink(size, text)[1] for text, _, _ in groups)
    digits_bottom = max(_ink(size, text)[3] for text, _, _ in groups)
    baseline = box[3] - digits_bottom
    bars_bottom = baseline + digits_top - 1
    if bars_bottom - box[1] < _MIN_BAR_PX:
        return CodeNotDrawn(f"the region is {height} px high: bars would be under {_MIN_BAR_PX} px")
    guard_bottom = min(box[3], bars_bottom + (digits_bottom - digits_top) // 2)
    bars = tuple(
        Bar(
            x0 + start * module,
            box[1],
            x0 + end * module,
            guard_bottom if start in _GUARDS else bars_bottom,
        )
        for start, end in _runs([bit == "1" for bit in modules])
    )
    texts = []
    for text, left, right in groups:
        ink_left, _, ink_right, _ = _ink(size, text)
        if text == digits[0]:
            x = right - ink_right  # right-aligned, one module clear of the start guard
        else:
            x = left + (right - left - (ink_right - ink_left)) // 2 - ink_left
        texts.append(CodeText(x, baseline, text, size))
    return CodeDrawing(bars=bars, texts=tuple(texts))


# ---------------------------------------------------------------- QR


@lru_cache(maxsize=4096)
def qr_matrix(url: str) -> tuple[tuple[bool, ...], ...]:
    """The QR modules of `url` (error correction M), without a quiet zone."""
    code = qrcode.QRCode(border=0, error_correction=qrcode.constants.ERROR_CORRECT_M)
    code.add_data(url)
    code.make(fit=True)
    return tuple(tuple(bool(cell) for cell in row) for row in code.get_matrix())


def qr_min_module_px(pixel_pitch_mm: float) -> int:
    """Whole pixels per module for at least `QR_MIN_MODULE_MM` on a panel of this pitch."""
    return max(1, math.ceil(QR_MIN_MODULE_MM / pixel_pitch_mm - 1e-9))


def qr_drawing(
    url: str | None, *, box: tuple[int, int, int, int], pixel_pitch_mm: float
) -> CodeDrawing | CodeNotDrawn:
    """The modules of `url` centred in `box`, or why they cannot be drawn there."""
    if not url:
        return CodeNotDrawn("the product has no web_url")
    matrix = qr_matrix(url)
    count = len(matrix)
    side = min(box[2] - box[0], box[3] - box[1])
    module = side // (count + 2 * QR_QUIET_MODULES)
    needed = qr_min_module_px(pixel_pitch_mm)
    if module < needed:
        span = (count + 2 * QR_QUIET_MODULES) * needed
        return CodeNotDrawn(
            f"the region is {box[2] - box[0]}x{box[3] - box[1]} px; this URL needs "
            f"{count} modules of at least {needed} px ({QR_MIN_MODULE_MM} mm, readable at "
            f"arm's length) plus a {QR_QUIET_MODULES}-module quiet zone: {span} px square"
        )
    symbol = count * module
    left = box[0] + (box[2] - box[0] - symbol) // 2
    top = box[1] + (box[3] - box[1] - symbol) // 2
    bars = tuple(
        Bar(left + start * module, top + row * module, left + end * module,
            top + (row + 1) * module)
        for row, cells in enumerate(matrix)
        for start, end in _runs(cells)
    )  # fmt: skip
    return CodeDrawing(bars=bars, texts=())


def _runs(cells: Sequence[bool]) -> list[tuple[int, int]]:
    runs, start = [], None
    for index, cell in enumerate((*cells, False)):
        if cell and start is None:
            start = index
        elif not cell and start is not None:
            runs.append((start, index))
            start = None
    return runs
