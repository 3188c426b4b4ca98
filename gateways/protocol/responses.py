"""Label responses: label -> controller, authenticated with the same per-label key.

    header   magic "ES" | version u8 | kind u8 | id length u8 | label id | sequence u32
    body     opcode u8 | reason u8 | state u8 | basic state u16 | displayed hash 16 |
             page u8 | battery mV u16 | RSSI i8 | LQI u8 | temperature 0.1 degC i16 |
             firmware major u8 minor u8 patch u8 | label clock ms u64
    mac      HMAC-SHA256(label key, header + body), first 16 bytes

kind 0x81 answers the command whose sequence it carries (a nack when reason is not
SUCCESS); kind 0x82 is a check-in, carrying the last sequence the label accepted. The
kind byte sits under the MAC, so a response can never be passed off as a command.
"""

from __future__ import annotations

import functools
import re
import struct
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from gateways.protocol._wire import (
    FrameKind,
    Reader,
    check_label_id,
    peek_header,
    seal,
    verify_mac,
)
from gateways.protocol.commands import CONTENT_HASH_SIZE, from_wire_ms, to_wire_ms
from gateways.protocol.keys import check_label_key
from gateways.protocol.reasons import BasicStateFlag, LabelState, ReasonCode

__all__ = ["NO_OPCODE", "LabelResponse", "decode_response", "encode_response"]

NO_OPCODE: Final = 0xFF  # the answered frame was unreadable before its opcode
_BODY = struct.Struct("<BBBH16sBHbBhBBBQ")
_NO_HASH = bytes(CONTENT_HASH_SIZE)
_FIRMWARE = re.compile(r"(\d{1,3})\.(\d{1,3})\.(\d{1,3})")


@dataclass(frozen=True, slots=True)
class LabelResponse:
    """What a label says back: ack/nack with a reason, and its health."""

    label_id: str
    sequence: int
    reason: ReasonCode
    state: LabelState
    flags: BasicStateFlag
    displayed_hash: bytes | None
    page: int
    battery_mv: int
    rssi_dbm: int
    lqi: int
    temperature_tenths_c: int
    firmware: str
    label_time: datetime
    opcode: int = NO_OPCODE
    kind: FrameKind = FrameKind.RESPONSE

    def __post_init__(self) -> None:
        check_label_id(self.label_id)
        if self.kind is FrameKind.COMMAND:
            raise ValueError("a response is not a command")
        if self.displayed_hash is not None and (
            len(self.displayed_hash) != CONTENT_HASH_SIZE or self.displayed_hash == _NO_HASH
        ):
            raise ValueError("displayed_hash must be 16 bytes, not all zero (that means none)")
        _check_firmware(self.firmware)

    @property
    def acked(self) -> bool:
        return self.reason is ReasonCode.SUCCESS


@functools.lru_cache(maxsize=256)
def _check_firmware(firmware: str) -> None:
    match = _FIRMWARE.fullmatch(firmware)
    if match is None or any(int(part) > 255 for part in match.groups()):
        raise ValueError(f"firmware {firmware!r} is not major.minor.patch")


def encode_response(response: LabelResponse, *, key: bytes) -> bytes:
    check_label_key(key)
    major, minor, patch = (int(part) for part in response.firmware.split("."))
    body = _BODY.pack(
        response.opcode,
        response.reason,
        response.state,
        response.flags,
        response.displayed_hash or _NO_HASH,
        response.page,
        response.battery_mv,
        response.rssi_dbm,
        response.lqi,
        response.temperature_tenths_c,
        major,
        minor,
        patch,
        to_wire_ms(response.label_time),
    )
    return seal(response.kind, response.label_id, response.sequence, body, key)


def decode_response(data: bytes, *, key: bytes) -> LabelResponse:
    """Verify and read a response, or raise `FrameRejectedError` (BAD_MAC for a forgery).

    Look the key up by `peek_header(data).label_id` first.
    """
    header = peek_header(data)
    if header.kind is FrameKind.COMMAND:
        raise header.reject(ReasonCode.MALFORMED_FRAME, "a command, not a response")
    verify_mac(key, data, header)
    reader = Reader.of_body(data, header)
    fields = reader.unpack(_BODY)
    reader.finish()
    (opcode, reason, state, flags, displayed, page, battery, rssi, lqi, temperature) = fields[:10]
    major, minor, patch, clock_ms = fields[10:]
    try:
        return LabelResponse(
            label_id=header.label_id,
            sequence=header.sequence,
            reason=ReasonCode(reason),
            state=LabelState(state),
            flags=BasicStateFlag(flags),
            displayed_hash=None if displayed == _NO_HASH else displayed,
            page=page,
            battery_mv=battery,
            rssi_dbm=rssi,
            lqi=lqi,
            temperature_tenths_c=temperature,
            firmware=f"{major}.{minor}.{patch}",
            label_time=from_wire_ms(clock_ms),
            opcode=opcode,
            kind=header.kind,
        )
    except (ValueError, OverflowError) as error:
        raise reader.reject(ReasonCode.MALFORMED_FRAME, str(error)) from None
