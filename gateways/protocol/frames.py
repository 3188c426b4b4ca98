"""Command frames: controller -> label, authenticated with the label's own key.

    header   magic "ES" | version u8 | kind u8 (0x01) | id length u8 | label id | sequence u32
    body     opcode u8 | command fields (see `commands`)
    mac      HMAC-SHA256(label key, header + body), first 16 bytes

All integers are little-endian, as in the ESL Service. docs/protocol.md is the full
specification; this module is its reference implementation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from gateways.protocol._wire import (
    MAC_SIZE,
    FrameHeader,
    FrameKind,
    Reader,
    check_label_id,
    peek_header,
    seal,
    verify_mac,
)
from gateways.protocol.commands import (
    DEFAULT_CHUNK_SIZE,
    Command,
    Opcode,
    ReceivedChunks,
    opcode_of,
    pack_command,
    read_chunks,
    unpack_command,
)
from gateways.protocol.keys import check_label_key
from gateways.protocol.reasons import ReasonCode

__all__ = [
    "MAX_SEQUENCE",
    "LabelFrame",
    "PackedCommand",
    "decode_frame",
    "encode_frame",
    "pack_for_signing",
    "packed_of_frame",
    "peek_command",
    "sign_packed",
]

MAX_SEQUENCE: Final = 0xFFFF_FFFF


@dataclass(frozen=True, slots=True)
class LabelFrame:
    """One command for one label. `sequence` must exceed every sequence the label accepted."""

    label_id: str
    sequence: int
    command: Command

    def __post_init__(self) -> None:
        check_label_id(self.label_id)
        if not 1 <= self.sequence <= MAX_SEQUENCE:
            raise ValueError(f"sequence {self.sequence} outside 1..{MAX_SEQUENCE}")

    @property
    def opcode(self) -> Opcode:
        return opcode_of(self.command)


@dataclass(frozen=True, slots=True)
class PackedCommand:
    """A command packed once (opcode and body) to be signed for many labels: a price
    change sends the same image to every label of a product."""

    opcode: int
    body: bytes


def pack_for_signing(command: Command, *, chunk_size: int = DEFAULT_CHUNK_SIZE) -> PackedCommand:
    return PackedCommand(opcode_of(command), pack_command(command, chunk_size=chunk_size))


def sign_packed(packed: PackedCommand, *, label_id: str, sequence: int, key: bytes) -> bytes:
    """The frame of `packed` for one label: the same bytes `encode_frame` makes."""
    check_label_id(label_id)
    if not 1 <= sequence <= MAX_SEQUENCE:
        raise ValueError(f"sequence {sequence} outside 1..{MAX_SEQUENCE}")
    check_label_key(key)
    return seal(FrameKind.COMMAND, label_id, sequence, bytes([packed.opcode]) + packed.body, key)


def packed_of_frame(frame: bytes) -> PackedCommand:
    """The command a signed frame carries, as `sign_packed` takes it: to sign it again
    with another sequence number. Its MAC is not checked: only for frames we made."""
    header = peek_header(frame)
    return PackedCommand(frame[header.size], frame[header.size + 1 : -MAC_SIZE])


def encode_frame(frame: LabelFrame, *, key: bytes, chunk_size: int = DEFAULT_CHUNK_SIZE) -> bytes:
    packed = pack_for_signing(frame.command, chunk_size=chunk_size)
    return sign_packed(packed, label_id=frame.label_id, sequence=frame.sequence, key=key)


def decode_frame(data: bytes, *, key: bytes, label_id: str) -> LabelFrame:
    """Verify and read a frame addressed to `label_id`, or raise `FrameRejectedError`.

    Checks run in the order a radio receiver can make them: header, addressee, each
    chunk's CRC, then the MAC, and only then the command's fields. Whatever the input,
    the only exception is `FrameRejectedError`.
    """
    header = peek_header(data)
    if header.kind is not FrameKind.COMMAND:
        raise header.reject(ReasonCode.MALFORMED_FRAME, "not a command")
    if header.label_id != label_id:
        raise header.reject(ReasonCode.WRONG_LABEL, f"addressed to {header.label_id}")
    reader, opcode, chunks = _command_reader(data, header)
    verify_mac(key, data, header)
    if header.sequence == 0:
        raise reader.reject(ReasonCode.STALE_SEQUENCE, "sequence 0 is never valid")
    command = unpack_command(opcode, reader, chunks)
    return LabelFrame(label_id=header.label_id, sequence=header.sequence, command=command)


def peek_command(data: bytes) -> Command | None:
    """The command a frame carries, read WITHOUT checking its MAC; None for a frame that is
    not a command. Only for choosing how to deliver a frame (the BLE control point), never
    for believing it: the label checks the MAC and refuses a mismatch. Raises
    `FrameRejectedError` when unreadable."""
    header = peek_header(data)
    if header.kind is not FrameKind.COMMAND:
        return None
    reader, opcode, chunks = _command_reader(data, header)
    return unpack_command(opcode, reader, chunks)


def _command_reader(data: bytes, header: FrameHeader) -> tuple[Reader, int, ReceivedChunks | None]:
    """A reader at the command's fields, its opcode, and an image update's chunks (their
    CRCs checked)."""
    reader = Reader.of_body(data, header)
    opcode = reader.u8()
    chunks = None
    if opcode == Opcode.IMAGE_UPDATE:
        chunks = read_chunks(reader)
        reader.offset = header.size + 1
    return reader, opcode, chunks
