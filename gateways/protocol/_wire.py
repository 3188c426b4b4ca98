"""Byte-level pieces both directions share: the common header, the MAC, a bounded reader."""

from __future__ import annotations

import functools
import hmac
import re
import struct
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Final

from gateways.protocol.errors import FrameRejectedError
from gateways.protocol.reasons import ReasonCode

__all__ = [
    "LABEL_ID_PATTERN",
    "MAC_SIZE",
    "MAGIC",
    "MAX_FRAME_BYTES",
    "PROTOCOL_VERSION",
    "FrameHeader",
    "FrameKind",
    "Reader",
    "check_label_id",
    "compute_mac",
    "pack_header",
    "peek_header",
    "verify_mac",
]

MAGIC: Final = b"ES"
PROTOCOL_VERSION: Final = 1
MAC_SIZE: Final = 16
# A 7.5" three-colour image stored raw is 96,000 bytes; anything past this is hostile.
MAX_FRAME_BYTES: Final = 262_144
LABEL_ID_PATTERN: Final = re.compile(r"[A-Za-z0-9._:\-]{1,32}")

_FIXED_HEADER = struct.Struct("<2sBBB")  # magic, version, kind, label id length
_SEQUENCE = struct.Struct("<I")


class FrameKind(IntEnum):
    """Byte 3 of every frame: which way it travels and what follows the header."""

    COMMAND = 0x01  # controller -> label
    RESPONSE = 0x81  # label -> controller, answering one command
    CHECK_IN = 0x82  # label -> controller, unsolicited status on a check-in
    # gateway -> controller, unsigned: what the store gateway's radio found (reports.py)
    GATEWAY_REPORT = 0x83


@dataclass(frozen=True, slots=True)
class FrameHeader:
    """The cleartext start of every frame; a gateway routes on it without any key."""

    version: int
    kind: FrameKind
    label_id: str
    sequence: int
    size: int  # bytes up to and including the sequence number

    def reject(self, reason: ReasonCode, detail: str = "") -> FrameRejectedError:
        """A refusal of this frame, naming its label and sequence for the nack."""
        return FrameRejectedError(reason, detail, label_id=self.label_id, sequence=self.sequence)


@functools.lru_cache(maxsize=65_536)
def check_label_id(label_id: str) -> str:
    if not LABEL_ID_PATTERN.fullmatch(label_id):
        raise ValueError(f"label id {label_id!r}: 1-32 of A-Z a-z 0-9 . _ : -")
    return label_id


def pack_header(kind: FrameKind, label_id: str, sequence: int) -> bytes:
    if not 0 <= sequence <= 0xFFFF_FFFF:
        raise ValueError(f"sequence {sequence} does not fit in 32 bits")
    encoded = check_label_id(label_id).encode("ascii")
    return (
        _FIXED_HEADER.pack(MAGIC, PROTOCOL_VERSION, kind, len(encoded))
        + encoded
        + _SEQUENCE.pack(sequence)
    )


def peek_header(data: bytes) -> FrameHeader:
    """Read the cleartext header, unauthenticated. Raises `FrameRejectedError` when unreadable."""
    if len(data) > MAX_FRAME_BYTES:
        raise FrameRejectedError(ReasonCode.CAPACITY_LIMIT, f"{len(data)} bytes")
    if len(data) < _FIXED_HEADER.size:
        raise FrameRejectedError(ReasonCode.MALFORMED_FRAME, "shorter than a header")
    magic, version, kind, id_length = _FIXED_HEADER.unpack_from(data)
    if magic != MAGIC:
        raise FrameRejectedError(ReasonCode.MALFORMED_FRAME, "not a protocol frame")
    if version != PROTOCOL_VERSION:
        raise FrameRejectedError(ReasonCode.UNSUPPORTED_VERSION, f"version {version}")
    end = _FIXED_HEADER.size + id_length
    if len(data) < end + _SEQUENCE.size:
        raise FrameRejectedError(ReasonCode.MALFORMED_FRAME, "header truncated")
    try:
        label_id = data[_FIXED_HEADER.size : end].decode("ascii")
    except UnicodeDecodeError:
        label_id = ""
    if not LABEL_ID_PATTERN.fullmatch(label_id):
        raise FrameRejectedError(ReasonCode.MALFORMED_FRAME, "label id")
    (sequence,) = _SEQUENCE.unpack_from(data, end)
    try:
        frame_kind = FrameKind(kind)
    except ValueError:
        raise FrameRejectedError(
            ReasonCode.MALFORMED_FRAME, f"kind 0x{kind:02x}", label_id=label_id, sequence=sequence
        ) from None
    return FrameHeader(version, frame_kind, label_id, sequence, end + _SEQUENCE.size)


def compute_mac(key: bytes, message: bytes) -> bytes:
    """HMAC-SHA256 over `message`, truncated to 16 bytes (RFC 2104 section 5 allows it)."""
    return hmac.digest(key, message, "sha256")[:MAC_SIZE]


def seal(kind: FrameKind, label_id: str, sequence: int, body: bytes, key: bytes) -> bytes:
    """A frame as it travels, command or response: header, body, and the MAC over both."""
    signed = pack_header(kind, label_id, sequence) + body
    return signed + compute_mac(key, signed)


def verify_mac(key: bytes, data: bytes, header: FrameHeader) -> None:
    """Check the MAC in the last 16 bytes of `data`; raise BAD_MAC when it does not match."""
    if len(data) < header.size + MAC_SIZE:
        raise header.reject(ReasonCode.MALFORMED_FRAME, "no room for a MAC")
    expected = compute_mac(key, data[:-MAC_SIZE])
    if not hmac.compare_digest(expected, data[-MAC_SIZE:]):
        raise header.reject(ReasonCode.BAD_MAC)


class Reader:
    """Little-endian fields from a byte string; running past the end is MALFORMED_FRAME."""

    __slots__ = ("_data", "_end", "_header", "offset")

    def __init__(self, data: bytes, *, start: int, end: int, header: FrameHeader) -> None:
        self._data = data
        self._end = end
        self._header = header
        self.offset = start

    @classmethod
    def of_body(cls, data: bytes, header: FrameHeader) -> Reader:
        """A reader over the body of frame `data`: after its header, before its MAC."""
        return cls(data, start=header.size, end=len(data) - MAC_SIZE, header=header)

    @property
    def data(self) -> bytes:
        return self._data

    @property
    def end(self) -> int:
        return self._end

    def reject(self, reason: ReasonCode, detail: str = "") -> FrameRejectedError:
        return self._header.reject(reason, detail)

    def take(self, count: int) -> bytes:
        end = self.offset + count
        if count < 0 or end > self._end:
            raise self.reject(ReasonCode.MALFORMED_FRAME, "truncated")
        chunk = self._data[self.offset : end]
        self.offset = end
        return chunk

    def unpack(self, layout: struct.Struct) -> tuple[Any, ...]:
        end = self.offset + layout.size
        if end > self._end:
            raise self.reject(ReasonCode.MALFORMED_FRAME, "truncated")
        values = layout.unpack_from(self._data, self.offset)
        self.offset = end
        return values

    def u8(self) -> int:
        value: int = self.unpack(_U8)[0]
        return value

    def text(self) -> str:
        """A u8-length-prefixed ASCII string."""
        raw = self.take(self.u8())
        try:
            return raw.decode("ascii")
        except UnicodeDecodeError:
            raise self.reject(ReasonCode.MALFORMED_FRAME, "text is not ASCII") from None

    def finish(self) -> None:
        if self.offset != self._end:
            raise self.reject(ReasonCode.MALFORMED_FRAME, "trailing bytes")


_U8 = struct.Struct("<B")
