"""Which ink can carry text on which background: WCAG 2 contrast between panel colours.

E-paper accents differ: red on white reads as well as dark grey (5.9:1), yellow on white
does not (1.7:1), nor does white on yellow. Layout asks `carries_text` before drawing
accent text and, where the accent cannot carry it, sets black text on an accent field.
"""

from __future__ import annotations

__all__ = ["MIN_TEXT_CONTRAST", "carries_text", "contrast_ratio"]

# WCAG 2 level AA for normal text: shelf labels are read from a metre, often at an angle.
MIN_TEXT_CONTRAST = 4.5

RGB = tuple[int, int, int]


def _luminance(rgb: RGB) -> float:
    def linear(channel: int) -> float:
        value = channel / 255
        return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4

    red, green, blue = (linear(channel) for channel in rgb)
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast_ratio(first: RGB, second: RGB) -> float:
    """WCAG 2 contrast ratio, 1 (none) to 21 (black on white)."""
    lighter, darker = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def carries_text(ink: RGB, background: RGB) -> bool:
    return contrast_ratio(ink, background) >= MIN_TEXT_CONTRAST
