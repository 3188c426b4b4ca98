"""Which characters the label font really draws, so a label never shows tofu boxes.

A character the font has no glyph for is drawn as .notdef, an empty box: "12,99 □" is
a price nobody can read. The check asks the font itself (Pillow's FreeType): a character
is drawable when its bitmap differs from the one FreeType draws for a code point no
font maps (U+10FFFD, private use), which is .notdef. Asked of the fonts `rendering.fonts`
draws with, it follows any change of font.

A control character or a line or paragraph separator (a tab, "\n", NEL, U+2028) is
never drawable, whatever the font: a label lays its texts out line by line and wraps
at plain spaces only, so FreeType would draw a tab as that box, and a line break fails
HarfBuzz's layout (Pillow raises RuntimeError); they are refused before the font is
asked. So are the bidirectional embedding, override and isolate controls (U+202A-U+202E,
U+2066-U+2069): invisible, they reorder what follows them, so "Mleko " U+202E "99,2" is
drawn "Mleko 2,99" on a shelf. Other spaces are the font's to draw, blank: the
no-break ones Babel writes in money (U+00A0, U+202F), a thin space (U+2009).
"""

from __future__ import annotations

import unicodedata
from functools import cache, lru_cache

from rendering.fonts import Weight, font

__all__ = ["control_characters", "describe_characters", "undrawable_characters"]

_PROBE_SIZE = 32
_NEVER_MAPPED = "\U0010fffd"
# Unicode's control characters (C0, DEL, C1: tab, "\n", "\r", NEL), line separator
# (U+2028) and paragraph separator (U+2029).
_NOT_IN_A_LINE = frozenset({"Cc", "Zl", "Zp"})
# Embeddings, overrides (LRE, RLE, PDF, LRO, RLO) and isolates (LRI, RLI, FSI, PDI): they
# change the order characters are drawn in, not what is drawn.
_DIRECTION_CONTROLS = frozenset(
    chr(c) for c in (*range(0x202A, 0x202E + 1), *range(0x2066, 0x2069 + 1))
)


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


def control_characters(text: str) -> str:
    """The control characters, line or paragraph separators and direction controls of
    `text`, each once, in order: what no line of a label can hold (the API and the CSV
    files refuse them in a name, `esl.one_line_text`)."""
    found = dict.fromkeys(
        c for c in text if unicodedata.category(c) in _NOT_IN_A_LINE or c in _DIRECTION_CONTROLS
    )
    return "".join(found)


def undrawable_characters(text: str) -> str:
    """The characters of `text` the label font has no glyph for, each once, in order:
    its control characters and line breaks, and what the font lacks."""
    controls = control_characters(text)
    missing = dict.fromkeys(c for c in text if c in controls or (c != " " and not _drawable(c)))
    return "".join(missing)


def describe_characters(characters: str) -> str:
    """ "'₴' (U+20B4), 'ج' (U+062C)": for error messages."""
    return ", ".join(f"{c!r} (U+{ord(c):04X})" for c in characters)
