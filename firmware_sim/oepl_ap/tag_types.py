"""The tag types the emulated access point knows, as it serves them at `/tagtypes/<HH>.json`.

Our own definitions, written for this emulator (OpenEPaperLink's tag-type files are
CC BY-NC-SA and are not copied): the fields a client reads (`width`, `height`, `bpp`,
`colortable`, `rotatebuffer`, `options`) with values of panels of the sizes this project
renders, and ids from a range of our own choosing. One type has no display model in this
project on purpose (a 2.7" panel), so the driver's "reported, not guessed" path is real.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any, Final

__all__ = ["TAG_TYPES", "TagTypeSpec"]

_WHITE: Final = [255, 255, 255]
_BLACK: Final = [0, 0, 0]
_RED: Final = [255, 0, 0]
_YELLOW: Final = [255, 255, 0]

TagTypeSpec = dict[str, Any]


def _spec(
    name: str, width: int, height: int, accent: list[int] | None, *, led: bool
) -> TagTypeSpec:
    colours: dict[str, list[int]] = {"white": _WHITE, "black": _BLACK}
    if accent is _RED:
        colours["red"] = accent
    elif accent is _YELLOW:
        colours["yellow"] = accent
    return {
        "version": 1,
        "name": name,
        "width": width,
        "height": height,
        "rotatebuffer": 0,
        "bpp": 2 if accent is not None else 1,
        "colortable": colours,
        "shortlut": 0,
        "options": ["led"] if led else [],
        "contentids": [],
        "zlib_compression": "0",
    }


TAG_TYPES: MappingProxyType[int, TagTypeSpec] = MappingProxyType(
    {
        0xB0: _spec('Emulated 1.54" BWR', 152, 152, _RED, led=False),
        0xB1: _spec('Emulated 2.13" BWR', 250, 122, _RED, led=False),
        0xB2: _spec('Emulated 2.9" BW', 296, 128, None, led=False),
        0xB3: _spec('Emulated 2.9" BWR', 296, 128, _RED, led=True),
        0xB4: _spec('Emulated 2.9" BWY', 296, 128, _YELLOW, led=True),
        0xB5: _spec('Emulated 4.2" BWR', 400, 300, _RED, led=True),
        # No display model of this project has 264 x 176: reported, never guessed.
        0xBE: _spec('Emulated 2.7" BWR', 264, 176, _RED, led=False),
    }
)
