"""Which characters the label font really draws, so a label never shows tofu boxes.

A character the font has no glyph for is drawn as .notdef, an empty box: "12,99 □" is
a price nobody can read. The check asks the font itself (Pillow's FreeType): a character
is drawable when its bitmap differs from the one FreeType draws for a code point no
font maps (U+10FFFD, private use), which is .notdef. Asked of the fonts `rendering.fonts`
draws with, it follows any change of font.
"""

from __future__ import annotations

from functools import cache, lru_cache

from rendering.fonts import Weight, font

__all__ = ["describe_characters", "undrawable_characters"]

_PROBE_SIZE = 32
_NEVER_MAPPED = "\U0010fffd"


@cache
def _notdef(weight: Weight) -> tuple[tuple[int, int], bytes]:
    mask = font(weight, _PROBE_SIZE).getmask(_NEVER_MAPPED)
    return mask.size, bytes(mask)


@lru_cache(maxsize=65536)
def _drawable(character: str) -> bool:
    for weight in Weight:
        mask = font(weight, _PROBE_SIZE).getmask(character)
        if (mask.size, bytes(mask)) == _notdef(weight):
            return False
    return True


def undrawable_characters(text: str) -> str:
    """The characters of `text` the label font has no glyph for, each once, in order."""
    missing = dict.fromkeys(c for c in text if not c.isspace() and not _drawable(c))
    return "".join(missing)


def describe_characters(characters: str) -> str:
    """ "'₴' (U+20B4), 'ج' (U+062C)": for error messages."""
    return ", ".join(f"{c!r} (U+{ord(c):04X})" for c in characters)
