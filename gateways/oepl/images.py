"""Our planes to what the AP takes (a baseline JPEG) and what it stores back to planes.

The AP decodes only JPEG. Lossless enough here means: the image is drawn in exactly the
tag type's own colours, at the tag's exact resolution, as JPEG quality 100 without
chroma subsampling, and sent with `dither=0`; the AP then maps every pixel to the nearest
panel colour, which is the colour we drew (JPEG's error at quality 100 is a few levels,
the colours are 200+ apart). Tests check the result with `/current/<mac>.raw`.
"""

from __future__ import annotations

import io
import zlib

import numpy as np
from PIL import Image

from gateways.oepl.models import TagType
from rendering.encoding import Planes

__all__ = ["jpeg_for", "planes_from_stored"]

_ZLIB_HEADER = 6  # the AP's compressed images start each block with a 6-byte header


def jpeg_for(planes: Planes, tag_type: TagType) -> bytes:
    """The upload for `planes` on a tag of `tag_type` (same size, checked by the caller)."""
    white, black = tag_type.colour("white"), tag_type.colour("black")
    if white is None or black is None:
        raise ValueError(f"{tag_type.name}: no white or no black in its colour table")
    rows = np.unpackbits(
        np.frombuffer(planes.black, dtype=np.uint8).reshape(planes.height, planes.stride), axis=1
    )[:, : planes.width].astype(bool)
    pixels = np.empty((planes.height, planes.width, 3), dtype=np.uint8)
    pixels[:] = white
    pixels[rows] = black
    if planes.accent is not None:
        accent = tag_type.colour(tag_type.accent or "")
        if accent is not None:
            marks = np.unpackbits(
                np.frombuffer(planes.accent, dtype=np.uint8).reshape(planes.height, planes.stride),
                axis=1,
            )[:, : planes.width].astype(bool)
            pixels[marks & ~rows] = accent
    buffer = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(buffer, format="JPEG", quality=100, subsampling=0)
    return buffer.getvalue()


def planes_from_stored(stored: bytes, tag_type: TagType) -> Planes | None:
    """The planes of an image as `/current/<mac>.raw` holds it (plain planes, or zlib
    blocks with a 4-byte size prefix); None when it is neither."""
    plane = (tag_type.width + 7) // 8 * tag_type.height
    planes = 2 if tag_type.bpp == 2 else 1
    data = stored if len(stored) == plane * planes else _inflate(stored, plane, planes)
    if data is None:
        return None
    return Planes(
        width=tag_type.width,
        height=tag_type.height,
        black=data[:plane],
        accent=data[plane : 2 * plane] if planes == 2 else None,
    )


def _inflate(stored: bytes, plane: int, planes: int) -> bytes | None:
    try:
        first = zlib.decompressobj()
        data = first.decompress(stored[4:])[_ZLIB_HEADER:]
        if planes == 2 and first.unused_data:
            data = data[:plane] + zlib.decompress(first.unused_data)[_ZLIB_HEADER:]
    except zlib.error:
        return None
    return data if len(data) == plane * planes else None
