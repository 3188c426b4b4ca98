"""The vendor Frame Transfer service: moving a signed frame to a label over GATT.

The ESL Service moves images over the Object Transfer Service on an L2CAP channel, which
bleak cannot open. We move the whole signed protocol frame instead, over two
characteristics (docs/ble.md has the byte layouts):

    Frame Transfer Status (read, write)   write: begin | length u32 | CRC-32 u32
                                          read:  length u32 | CRC-32 u32 | confirmed u32
    Frame Data (write with response)      offset u32 | CRC-32 of the chunk u32 | bytes

A label keeps what it confirmed across a dropped connection; a `begin` for the same
length and CRC resumes there, anything else starts over at 0. A chunk at the wrong
offset or with a bad CRC is refused with an ATT application error
(`TransferAttError`) and nothing is stored.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from typing import Final

from gateways.ble.errors import MalformedGattValueError

__all__ = [
    "BEGIN",
    "CHUNK_HEADER_SIZE",
    "MAX_ATTRIBUTE_VALUE",
    "MAX_TRANSFER_BYTES",
    "Chunk",
    "TransferStatus",
    "chunk_size_for_mtu",
    "decode_begin",
    "decode_chunk",
    "encode_begin",
    "encode_chunk",
    "frame_crc",
]

BEGIN: Final = 0x01
CHUNK_HEADER_SIZE: Final = 8
# Same bound as the protocol's MAX_FRAME_BYTES: a label has no room for more.
MAX_TRANSFER_BYTES: Final = 262_144
_ATT_WRITE_HEADER: Final = 3  # opcode + attribute handle
# No attribute value is longer than 512 bytes (Core 6.0 Vol 3 Part F 3.2.9), whatever the
# MTU: at an MTU of 517 a 514-byte write is refused with Invalid Attribute Value Length.
MAX_ATTRIBUTE_VALUE: Final = 512
_BEGIN = struct.Struct("<BII")
_STATUS = struct.Struct("<III")
_CHUNK_HEAD = struct.Struct("<II")


def frame_crc(data: bytes) -> int:
    return zlib.crc32(data) & 0xFFFF_FFFF


def chunk_size_for_mtu(mtu: int) -> int:
    """Frame bytes per Frame Data write that fit one ATT PDU at this MTU (and one
    attribute value)."""
    return max(1, min(mtu - _ATT_WRITE_HEADER, MAX_ATTRIBUTE_VALUE) - CHUNK_HEADER_SIZE)


@dataclass(frozen=True, slots=True)
class TransferStatus:
    """What a label holds of a transfer: `confirmed` bytes of the frame (length, crc)."""

    length: int
    crc: int
    confirmed: int

    @property
    def complete(self) -> bool:
        return self.length > 0 and self.confirmed == self.length

    def to_bytes(self) -> bytes:
        return _STATUS.pack(self.length, self.crc, self.confirmed)

    @classmethod
    def from_bytes(cls, value: bytes) -> TransferStatus:
        if len(value) != _STATUS.size:
            raise MalformedGattValueError(what="Frame Transfer Status", value=value)
        length, crc, confirmed = _STATUS.unpack(value)
        if confirmed > length:
            raise MalformedGattValueError(what="Frame Transfer Status", value=value)
        return cls(length=length, crc=crc, confirmed=confirmed)


def encode_begin(data: bytes) -> bytes:
    return _BEGIN.pack(BEGIN, len(data), frame_crc(data))


def decode_begin(value: bytes) -> tuple[int, int]:
    """(length, crc) of a begin write."""
    if len(value) != _BEGIN.size or value[0] != BEGIN:
        raise MalformedGattValueError(what="Frame Transfer begin", value=value)
    _, length, crc = _BEGIN.unpack(value)
    return length, crc


@dataclass(frozen=True, slots=True)
class Chunk:
    offset: int
    data: bytes

    @property
    def end(self) -> int:
        return self.offset + len(self.data)


def encode_chunk(offset: int, data: bytes) -> bytes:
    return _CHUNK_HEAD.pack(offset, frame_crc(data)) + data


def decode_chunk(value: bytes) -> Chunk | None:
    """The chunk in a Frame Data write, or None when its CRC does not match."""
    if len(value) <= CHUNK_HEADER_SIZE:
        raise MalformedGattValueError(what="Frame Data", value=value[:16])
    offset, crc = _CHUNK_HEAD.unpack_from(value)
    data = bytes(value[CHUNK_HEADER_SIZE:])
    return Chunk(offset, data) if frame_crc(data) == crc else None
