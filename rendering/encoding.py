"""Label images as the bytes a label receives: bit planes, full and delta formats, decoder.

The byte layout is specified in docs/encoding.md; this docstring is the short version.

Planes: one bit per pixel, rows top to bottom, pixels left to right, most significant bit
first, each row padded with zero bits to a whole byte. A set bit is ink. A pixel whose
accent bit is set shows the accent colour (red/yellow) whatever its black bit says.

Every encoded image starts with one header byte:

    bit 7      kind: 0 full image, 1 delta against the image the label shows now
    bit 6      1 if an accent plane follows the black plane
    bits 5-4   full: row transform (0 none, 1 each row XOR the row above)
               delta: region payload (0 XOR with the base, 1 replacement bytes)
    bits 3-0   codec: 0 stored, 1 raw deflate (RFC 1951)

Full:  header | check[4] | body             body = planes (black then accent), transformed
Delta: header | base[8] | check[4] | body   body = region table + region bytes

`check` is the first 4 bytes of the content hash of the image the decoder must end up
with, `base` the first 8 bytes of the content hash of the image the delta applies to.
Raw deflate drops zlib's 2-byte header and 4-byte Adler-32; the encoder tries zlib's own
level-9 parameters among its candidates, so a full image is never larger than
`zlib.compress(raw_planes, 9)`.
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
from PIL import Image

from rendering.errors import DecodeError, DecodeReason

__all__ = [
    "BASE_TAG_SIZE",
    "CHECK_SIZE",
    "Planes",
    "content_hash",
    "decode",
    "decode_with_hash",
    "encode_delta",
    "encode_full",
    "image_from_planes",
    "planes_from_image",
    "raw_planes",
]

CHECK_SIZE: Final = 4
BASE_TAG_SIZE: Final = 8

_KIND_DELTA: Final = 0x80
_HAS_ACCENT: Final = 0x40
_VARIANT_MASK: Final = 0x30
_CODEC_MASK: Final = 0x0F
_CODEC_STORED: Final = 0
_CODEC_DEFLATE: Final = 1
_TRANSFORM_NONE: Final = 0
_TRANSFORM_UP: Final = 1
_DELTA_XOR: Final = 0
_DELTA_REPLACE: Final = 1
_MAX_VARINT_BYTES: Final = 3

_Rows = npt.NDArray[np.uint8]


@dataclass(frozen=True, slots=True)
class Planes:
    """A label image as bit planes (see the module docstring for the bit order)."""

    width: int
    height: int
    black: bytes
    accent: bytes | None = None

    def __post_init__(self) -> None:
        if not (0 < self.width <= 0xFFFF and 0 < self.height <= 0xFFFF):
            raise ValueError(f"image size {self.width}x{self.height} out of range")
        expected = self.plane_size
        if len(self.black) != expected:
            raise ValueError(f"black plane has {len(self.black)} bytes, expected {expected}")
        if self.accent is not None and len(self.accent) != expected:
            raise ValueError(f"accent plane has {len(self.accent)} bytes, expected {expected}")
        for plane in self.planes:
            if not _padding_is_clear(plane, width=self.width):
                raise ValueError("row padding bits must be zero")

    @property
    def stride(self) -> int:
        """Bytes per row."""
        return (self.width + 7) // 8

    @property
    def plane_size(self) -> int:
        return self.stride * self.height

    @property
    def has_accent(self) -> bool:
        return self.accent is not None

    @property
    def planes(self) -> tuple[bytes, ...]:
        return (self.black,) if self.accent is None else (self.black, self.accent)


def raw_planes(planes: Planes) -> bytes:
    """The planes back to back, uncompressed: what zlib-9 baselines compress."""
    return b"".join(planes.planes)


def content_hash(planes: Planes) -> bytes:
    """16-byte BLAKE2b over dimensions and planes; equal images, equal hashes, everywhere."""
    # One update over all the bytes: hashlib lets go of the GIL for each large update,
    # and taking it back is what costs in a busy process (a simulator with ten threads).
    header = struct.pack(">HHB", planes.width, planes.height, int(planes.has_accent))
    return hashlib.blake2b(
        header + b"".join(planes.planes), digest_size=16, person=b"esl-planes-v1"
    ).digest()


# ---------------------------------------------------------------- image <-> planes


def planes_from_image(image: Image.Image, *, has_accent: bool) -> Planes:
    """Pack an image into planes.

    A palette image uses our convention (index 0 white, 1 black, 2 accent). Other modes
    are read as grey levels, darker than mid-grey being ink. Without an accent plane,
    accent pixels become black: a black/white label still shows the promotion.
    """
    if image.mode == "P":
        indices = np.asarray(image)
        black_mask = indices == 1
        accent_mask = indices == 2
    else:
        grey = np.asarray(image.convert("L"))
        black_mask = grey < 128
        accent_mask = np.zeros_like(black_mask)
    if not has_accent:
        black_mask = black_mask | accent_mask
    width, height = image.size
    return Planes(
        width=width,
        height=height,
        black=np.packbits(black_mask, axis=1).tobytes(),
        accent=np.packbits(accent_mask, axis=1).tobytes() if has_accent else None,
    )


def image_from_planes(
    planes: Planes, *, palette: Sequence[tuple[int, int, int]] | None = None
) -> Image.Image:
    """Unpack planes into a palette image (0 white, 1 black, 2 accent), e.g. for a preview."""
    colours = list(palette or ((255, 255, 255), (0, 0, 0), (204, 0, 0)))
    indices = _unpack(planes.black, planes).astype(np.uint8)
    if planes.accent is not None:
        indices[_unpack(planes.accent, planes)] = 2
    image = Image.frombytes("P", (planes.width, planes.height), indices.tobytes())
    flat = [channel for colour in colours for channel in colour]
    image.putpalette(flat)
    return image


def _unpack(plane: bytes, planes: Planes) -> npt.NDArray[np.bool_]:
    rows = np.frombuffer(plane, dtype=np.uint8).reshape(planes.height, planes.stride)
    return np.unpackbits(rows, axis=1)[:, : planes.width].astype(bool)


def _padding_is_clear(plane: bytes, *, width: int) -> bool:
    spare = -width % 8
    if spare == 0:
        return True
    stride = (width + 7) // 8
    mask = (1 << spare) - 1
    return not any(byte & mask for byte in plane[stride - 1 :: stride])


# ---------------------------------------------------------------- full images


def encode_full(planes: Planes) -> bytes:
    """The smallest of a few full encodings; never larger than zlib level 9 of the raw planes."""
    check = content_hash(planes)[:CHECK_SIZE]
    accent_bit = _HAS_ACCENT if planes.has_accent else 0
    raw = raw_planes(planes)
    best = bytes([accent_bit | _CODEC_STORED]) + check + raw
    for transform in (_TRANSFORM_NONE, _TRANSFORM_UP):
        body = raw if transform == _TRANSFORM_NONE else _rows_xor_up(planes)
        for strategy in (zlib.Z_DEFAULT_STRATEGY, zlib.Z_FILTERED):
            packed = _deflate(body, strategy=strategy)
            if 1 + CHECK_SIZE + len(packed) < len(best):
                header = accent_bit | transform << 4 | _CODEC_DEFLATE
                best = bytes([header]) + check + packed
    return best


def _rows_xor_up(planes: Planes) -> bytes:
    # Text and bars repeat down the rows, so XOR with the row above leaves mostly zeros.
    out = []
    for plane in planes.planes:
        rows = np.frombuffer(plane, dtype=np.uint8).reshape(planes.height, planes.stride)
        diff = rows.copy()
        diff[1:] ^= rows[:-1]
        out.append(diff.tobytes())
    return b"".join(out)


def _undo_rows_xor_up(body: bytes, *, height: int, stride: int) -> bytes:
    rows = np.frombuffer(body, dtype=np.uint8).reshape(-1, height, stride)
    return np.bitwise_xor.accumulate(rows, axis=1).tobytes()


def _deflate(data: bytes, *, strategy: int) -> bytes:
    # zlib.compress(data, 9) uses wbits=15, memLevel=8, default strategy: the same
    # deflate stream as here, minus its 6 bytes of wrapper.
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15, 8, strategy)
    return compressor.compress(data) + compressor.flush()


# ---------------------------------------------------------------- deltas


@dataclass(frozen=True, slots=True)
class _Band:
    """Rows [top, top + rows) in which only the byte columns of `spans` change."""

    top: int
    rows: int
    spans: tuple[tuple[int, int], ...]  # (first byte column, byte count), left to right


def encode_delta(base: Planes, new: Planes) -> bytes:
    """Encode `new` as the changes from `base`, the image the label shows now.

    The changed bytes are grouped into row bands and column spans; the encoder tries a
    few groupings, XOR and replacement payloads, and keeps the smallest.
    """
    if (base.width, base.height, base.has_accent) != (new.width, new.height, new.has_accent):
        raise ValueError("a delta needs a base image of the same size and planes")
    stride, height = new.stride, new.height
    old_rows = [np.frombuffer(p, dtype=np.uint8).reshape(height, stride) for p in base.planes]
    new_rows = [np.frombuffer(p, dtype=np.uint8).reshape(height, stride) for p in new.planes]
    changed = np.zeros((height, stride), dtype=bool)
    for old, fresh in zip(old_rows, new_rows, strict=True):
        changed |= old != fresh

    accent_bit = _HAS_ACCENT if new.has_accent else 0
    tags = content_hash(base)[:BASE_TAG_SIZE] + content_hash(new)[:CHECK_SIZE]
    best: bytes | None = None
    seen: set[tuple[_Band, ...]] = set()
    for row_gap, column_gap in ((0, 2), (4, 4), (12, 8), (height, stride)):
        bands = tuple(_group_changes(changed, row_gap=row_gap, column_gap=column_gap))
        if bands in seen:
            continue
        seen.add(bands)
        table = _band_table(bands)
        for mode in (_DELTA_XOR, _DELTA_REPLACE):
            payload = _band_payload(bands, old_rows, new_rows, mode=mode)
            body = table + payload
            candidates = [(_CODEC_STORED, body), (_CODEC_DEFLATE, _deflate(body, strategy=0))]
            for codec, packed in candidates:
                encoded = bytes([_KIND_DELTA | accent_bit | mode << 4 | codec]) + tags + packed
                if best is None or len(encoded) < len(best):
                    best = encoded
    assert best is not None
    return best


def _group_changes(
    changed: npt.NDArray[np.bool_], *, row_gap: int, column_gap: int
) -> Iterator[_Band]:
    """Bands of changed rows (merging gaps up to `row_gap`), split into column spans."""
    changed_rows = np.flatnonzero(changed.any(axis=1))
    if changed_rows.size == 0:
        return
    band_start = previous = int(changed_rows[0])
    for row in [*changed_rows[1:].tolist(), None]:
        if row is not None and row - previous - 1 <= row_gap:
            previous = row
            continue
        columns = np.flatnonzero(changed[band_start : previous + 1].any(axis=0)).tolist()
        spans: list[tuple[int, int]] = []
        span_start = last = columns[0]
        for column in [*columns[1:], None]:
            if column is not None and column - last - 1 <= column_gap:
                last = column
                continue
            spans.append((span_start, last - span_start + 1))
            if column is not None:
                span_start = last = column
        yield _Band(top=band_start, rows=previous - band_start + 1, spans=tuple(spans))
        if row is not None:
            band_start = previous = row


def _band_table(bands: Sequence[_Band]) -> bytes:
    # Positions are stored relative to the previous band/span end, so they are small
    # numbers (one varint byte each) and regions can never overlap.
    out = bytearray(_varint(len(bands)))
    row_end = 0
    for band in bands:
        out += _run(band.top, band.rows, after=row_end) + _varint(len(band.spans))
        column_end = 0
        for first, count in band.spans:
            out += _run(first, count, after=column_end)
            column_end = first + count
        row_end = band.top + band.rows
    return bytes(out)


def _run(first: int, count: int, *, after: int) -> bytes:
    """A band's rows or a span's byte columns in the table: the gap since the previous
    run's end (`after`), then the length less one (`_Reader.run` reads it back)."""
    return _varint(first - after) + _varint(count - 1)


def _band_payload(
    bands: Sequence[_Band], old_rows: Sequence[_Rows], new_rows: Sequence[_Rows], *, mode: int
) -> bytes:
    chunks = []
    for band in bands:
        rows = slice(band.top, band.top + band.rows)
        for first, count in band.spans:
            columns = slice(first, first + count)
            for old, fresh in zip(old_rows, new_rows, strict=True):
                region = fresh[rows, columns]
                if mode == _DELTA_XOR:
                    region = region ^ old[rows, columns]
                chunks.append(region.tobytes())
    return b"".join(chunks)


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        if value:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


# ---------------------------------------------------------------- decoding


def decode(
    data: bytes, *, width: int, height: int, has_accent: bool, base: Planes | None = None
) -> Planes:
    """Decode a full image or a delta (which needs `base`, the image the label shows).

    Any input that is not exactly one well-formed image of this size raises `DecodeError`
    with a reason; nothing else escapes. Decompression never produces more bytes than the
    planes can hold, so a hostile stream cannot exhaust memory.
    """
    return decode_with_hash(data, width=width, height=height, has_accent=has_accent, base=base)[0]


def decode_with_hash(
    data: bytes, *, width: int, height: int, has_accent: bool, base: Planes | None = None
) -> tuple[Planes, bytes]:
    """`decode`, and the decoded image's `content_hash` (computed to check it anyway)."""
    if not (0 < width <= 0xFFFF and 0 < height <= 0xFFFF):
        raise DecodeError(DecodeReason.WRONG_SIZE, f"{width}x{height}")
    if not data:
        raise DecodeError(DecodeReason.EMPTY)
    header = data[0]
    codec = header & _CODEC_MASK
    variant = (header & _VARIANT_MASK) >> 4
    if codec not in (_CODEC_STORED, _CODEC_DEFLATE) or variant > 1:
        raise DecodeError(DecodeReason.UNKNOWN_FORMAT, f"header byte 0x{header:02x}")
    if bool(header & _HAS_ACCENT) != has_accent:
        raise DecodeError(DecodeReason.ACCENT_MISMATCH)
    stride = (width + 7) // 8
    plane_count = 2 if has_accent else 1
    plane_bytes = stride * height * plane_count
    if header & _KIND_DELTA:
        return _decode_delta(
            data, codec=codec, mode=variant, width=width, height=height,
            has_accent=has_accent, base=base, plane_bytes=plane_bytes,
        )  # fmt: skip
    if len(data) < 1 + CHECK_SIZE:
        raise DecodeError(DecodeReason.TRUNCATED, "header")
    check, body = data[1 : 1 + CHECK_SIZE], data[1 + CHECK_SIZE :]
    raw = _unpack_body(body, codec=codec, limit=plane_bytes)
    if len(raw) != plane_bytes:
        raise DecodeError(DecodeReason.WRONG_SIZE, f"{len(raw)} bytes, expected {plane_bytes}")
    if variant == _TRANSFORM_UP:
        raw = _undo_rows_xor_up(raw, height=height, stride=stride)
    planes = _planes_or_error(raw, width=width, height=height, has_accent=has_accent)
    return planes, _verify(planes, check)


def _decode_delta(
    data: bytes,
    *,
    codec: int,
    mode: int,
    width: int,
    height: int,
    has_accent: bool,
    base: Planes | None,
    plane_bytes: int,
) -> tuple[Planes, bytes]:
    if base is None:
        raise DecodeError(DecodeReason.MISSING_BASE)
    if (base.width, base.height, base.has_accent) != (width, height, has_accent):
        raise DecodeError(DecodeReason.WRONG_BASE, "base image has another size or planes")
    if len(data) < 1 + BASE_TAG_SIZE + CHECK_SIZE:
        raise DecodeError(DecodeReason.TRUNCATED, "header")
    base_tag = data[1 : 1 + BASE_TAG_SIZE]
    check = data[1 + BASE_TAG_SIZE : 1 + BASE_TAG_SIZE + CHECK_SIZE]
    if content_hash(base)[:BASE_TAG_SIZE] != base_tag:
        raise DecodeError(DecodeReason.WRONG_BASE, "delta was made for another image")
    stride = base.stride
    # Table: at most one band per row and one span per byte column, 3-byte varints.
    table_limit = _MAX_VARINT_BYTES * (1 + 3 * height + 2 * height * stride)
    body = _unpack_body(
        data[1 + BASE_TAG_SIZE + CHECK_SIZE :], codec=codec, limit=table_limit + plane_bytes
    )
    reader = _Reader(body)
    rows_out = [
        np.frombuffer(p, dtype=np.uint8).reshape(height, stride).copy() for p in base.planes
    ]
    regions = []  # (top, rows, first column, columns), all of the table before any payload
    row_end = 0
    for _ in range(reader.varint()):
        top, rows = reader.run(after=row_end)
        if top + rows > height:
            raise DecodeError(DecodeReason.BAD_REGION, f"rows {top}..{top + rows} of {height}")
        column_end = 0
        for _ in range(reader.varint()):
            first, count = reader.run(after=column_end)
            if first + count > stride:
                raise DecodeError(DecodeReason.BAD_REGION, f"columns beyond {stride}")
            regions.append((top, rows, first, count))
            column_end = first + count
        row_end = top + rows
    for top, rows, first, count in regions:
        for plane_rows in rows_out:
            block = np.frombuffer(reader.take(rows * count), dtype=np.uint8).reshape(rows, count)
            target = plane_rows[top : top + rows, first : first + count]
            if mode == _DELTA_XOR:
                target ^= block
            else:
                target[...] = block
    if not reader.at_end():
        raise DecodeError(DecodeReason.TRAILING_BYTES, "after the last region")
    raw = b"".join(r.tobytes() for r in rows_out)
    planes = _planes_or_error(raw, width=width, height=height, has_accent=has_accent)
    return planes, _verify(planes, check)


def _unpack_body(body: bytes, *, codec: int, limit: int) -> bytes:
    if codec == _CODEC_STORED:
        if len(body) > limit:
            raise DecodeError(DecodeReason.TOO_LARGE, f"{len(body)} stored bytes")
        return body
    inflater = zlib.decompressobj(-15)
    try:
        out = inflater.decompress(body, limit + 1)
    except zlib.error as error:
        raise DecodeError(DecodeReason.CORRUPT_STREAM, str(error)) from error
    if len(out) > limit or inflater.unconsumed_tail:
        raise DecodeError(DecodeReason.TOO_LARGE, f"inflates past {limit} bytes")
    if not inflater.eof:
        raise DecodeError(DecodeReason.TRUNCATED, "deflate stream does not end")
    if inflater.unused_data:
        raise DecodeError(DecodeReason.TRAILING_BYTES, "after the deflate stream")
    return out


def _planes_or_error(raw: bytes, *, width: int, height: int, has_accent: bool) -> Planes:
    size = ((width + 7) // 8) * height
    black, accent = raw[:size], (raw[size:] if has_accent else None)
    for plane in (black, accent):
        if plane is not None and not _padding_is_clear(plane, width=width):
            raise DecodeError(DecodeReason.BAD_PADDING)
    return Planes(width=width, height=height, black=black, accent=accent)


def _verify(planes: Planes, check: bytes) -> bytes:
    """The planes' content hash, which must begin with `check`."""
    digest = content_hash(planes)
    if digest[:CHECK_SIZE] != check:
        raise DecodeError(DecodeReason.CHECKSUM_MISMATCH)
    return digest


class _Reader:
    """Reads varints and byte runs from a delta body, refusing to read past its end."""

    __slots__ = ("_data", "_offset")

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._offset = 0

    def varint(self) -> int:
        value = 0
        for index in range(_MAX_VARINT_BYTES):
            if self._offset >= len(self._data):
                raise DecodeError(DecodeReason.TRUNCATED, "region table")
            byte = self._data[self._offset]
            self._offset += 1
            value |= (byte & 0x7F) << (7 * index)
            if not byte & 0x80:
                return value
        raise DecodeError(DecodeReason.BAD_REGION, "number too long")

    def run(self, *, after: int) -> tuple[int, int]:
        """(first, count) of a run written by `_run` after a run that ended at `after`."""
        first = after + self.varint()
        return first, self.varint() + 1

    def take(self, count: int) -> bytes:
        end = self._offset + count
        if end > len(self._data):
            raise DecodeError(DecodeReason.TRUNCATED, "region bytes")
        chunk = self._data[self._offset : end]
        self._offset = end
        return chunk

    def at_end(self) -> bool:
        return self._offset == len(self._data)
