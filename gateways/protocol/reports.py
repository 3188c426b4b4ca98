"""Gateway reports (kind 0x83): the store gateway's own word about a label it could not
reach, or reached again. Unsigned: a gateway holds no key of a Bluetooth ESL label, so
nothing in it is the label's; the controller believes it only as far as the broker's
login and topic ACL vouch for the gateway that published it (docs/protocol.md).

    header (kind 0x83) | u8 flags | u8 attempts | u64 at | u8 length | detail (ASCII)

- the header's sequence names the frame the gateway gave up on (0: a report about the
  label itself, with no frame, e.g. "reachable again");
- flags: bit 0 `REACHABLE` (the radio heard the label at `at`), bit 1 `FINAL` (the
  label refused the frame for good; otherwise another try may succeed), bit 2 `WAITING`
  (the frame is still being carried out: queued at the radio, an answer will come);
- attempts: how many times the radio tried (1-255);
- at: when the gateway found it (u64 ms, never 0);
- detail: 1-48 printable ASCII characters ("out of range after 3 attempts").

Parsed strictly: any other length, flag, count or character is `MALFORMED_FRAME`.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from datetime import datetime
from enum import IntFlag
from typing import Final

from gateways.protocol._wire import FrameKind, Reader, pack_header, peek_header
from gateways.protocol.commands import from_wire_ms, to_wire_ms
from gateways.protocol.errors import FrameRejectedError
from gateways.protocol.reasons import ReasonCode

__all__ = [
    "MAX_REPORT_DETAIL",
    "GatewayReport",
    "ReportFlag",
    "decode_gateway_report",
    "encode_gateway_report",
    "is_gateway_report",
]

MAX_REPORT_DETAIL: Final = 48
_BODY = struct.Struct("<BBQ")


class ReportFlag(IntFlag):
    NONE = 0
    REACHABLE = 0x01
    FINAL = 0x02
    WAITING = 0x04


_KNOWN_FLAGS: Final = ReportFlag.REACHABLE | ReportFlag.FINAL | ReportFlag.WAITING


@dataclass(frozen=True, slots=True)
class GatewayReport:
    label_id: str
    sequence: int  # the frame given up on; 0: none
    at: datetime
    detail: str
    attempts: int = 1
    flags: ReportFlag = ReportFlag.NONE

    @property
    def reachable(self) -> bool:
        return ReportFlag.REACHABLE in self.flags

    @property
    def waiting(self) -> bool:
        return ReportFlag.WAITING in self.flags

    def __post_init__(self) -> None:
        if self.reachable and ReportFlag.FINAL in self.flags:
            raise ValueError("a report says reachable or a refusal, not both")
        if self.waiting and self.flags != ReportFlag.WAITING:
            raise ValueError("a report says a frame is on its way, or something else")
        if self.waiting and self.sequence == 0:
            raise ValueError("a report that a frame is on its way names the frame")
        if not 1 <= self.attempts <= 0xFF:
            raise ValueError(f"attempts {self.attempts} not in 1..255")
        if not _printable(self.detail):
            raise ValueError(f"detail {self.detail!r}: 1-{MAX_REPORT_DETAIL} printable ASCII")


def encode_gateway_report(report: GatewayReport) -> bytes:
    detail = report.detail.encode("ascii")
    return (
        pack_header(FrameKind.GATEWAY_REPORT, report.label_id, report.sequence)
        + _BODY.pack(int(report.flags), report.attempts, to_wire_ms(report.at))
        + bytes([len(detail)])
        + detail
    )


def decode_gateway_report(data: bytes) -> GatewayReport:
    """Read a report, or raise `FrameRejectedError` (MALFORMED_FRAME) saying what is wrong."""
    header = peek_header(data)
    reader = Reader(data, start=header.size, end=len(data), header=header)
    if header.kind is not FrameKind.GATEWAY_REPORT:
        raise reader.reject(ReasonCode.MALFORMED_FRAME, f"kind {header.kind.name}, not a report")
    flags, attempts, at_ms = reader.unpack(_BODY)
    detail = reader.text()
    reader.finish()
    if flags & ~int(_KNOWN_FLAGS):
        raise reader.reject(ReasonCode.MALFORMED_FRAME, f"unknown flags 0x{flags:02x}")
    if at_ms == 0:
        raise reader.reject(ReasonCode.MALFORMED_FRAME, "no instant")
    try:
        return GatewayReport(
            label_id=header.label_id,
            sequence=header.sequence,
            at=from_wire_ms(at_ms),
            detail=detail,
            attempts=attempts,
            flags=ReportFlag(flags),
        )
    except (ValueError, OverflowError) as error:
        raise reader.reject(ReasonCode.MALFORMED_FRAME, str(error)) from None


def _printable(text: str) -> bool:
    return 1 <= len(text) <= MAX_REPORT_DETAIL and all(" " <= c <= "~" for c in text)


def is_gateway_report(data: bytes) -> bool:
    """Whether `data` claims to be a report (by its header; it may still be malformed)."""
    try:
        return peek_header(data).kind is FrameKind.GATEWAY_REPORT
    except FrameRejectedError:
        return False
