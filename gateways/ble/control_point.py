"""ESL Control Point commands and responses as frozen values, and their bytes.

A command is `opcode | ESL ID | parameters`, `(opcode >> 4) + 2` bytes in all; a response
is `opcode | parameters`, the same length rule. Both the driver and the simulated label
use this module, so the bytes each side sees are the spec's (ESLS 1.0 section 3.9).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from gateways.ble.errors import MalformedGattValueError
from gateways.ble.esl_service import (
    BROADCAST_ESL_ID,
    MAX_GROUP_ID,
    BasicStateFlag,
    CommandOpcode,
    ReasonCode,
    ResponseOpcode,
)
from gateways.protocol.commands import from_wire_ms, to_wire_ms

__all__ = [
    "ABSOLUTE_TIME_MODULUS",
    "BasicState",
    "ControlPointCommand",
    "ControlPointResponse",
    "DisplayImage",
    "DisplayState",
    "DisplayTimedImage",
    "EslAddress",
    "EslErrorResponse",
    "LedControl",
    "LedState",
    "Ping",
    "RefreshDisplay",
    "Unassociate",
    "UpdateComplete",
    "absolute_time_of",
    "decode_command",
    "decode_response",
    "encode_command",
    "encode_response",
    "instant_of_absolute_time",
    "message_length",
]

# ESL Absolute Time is a u32 of milliseconds. We count them from the Unix epoch, as our
# own frames do (`to_wire_ms`), so it wraps every 49.7 days; a label reads a time as the
# next such instant (docs/ble.md).
ABSOLUTE_TIME_MODULUS: Final = 1 << 32


def message_length(opcode: int) -> int:
    """Bytes in a control point command (with its ESL ID) or response with this opcode."""
    return (opcode >> 4) + 2


def absolute_time_of(at: datetime) -> int:
    """The ESL Absolute Time (u32 ms, wrapping) of an aware instant."""
    return to_wire_ms(at) % ABSOLUTE_TIME_MODULUS


def instant_of_absolute_time(value: int, *, now: datetime) -> datetime:
    """The instant at or after `now` minus half a wrap that has ESL Absolute Time `value`."""
    base = to_wire_ms(now) - ABSOLUTE_TIME_MODULUS // 2
    delta = (value - base) % ABSOLUTE_TIME_MODULUS
    return from_wire_ms(base + delta)


@dataclass(frozen=True, slots=True)
class EslAddress:
    """The ESL Address characteristic: ESL ID (0-254; 0xFF is broadcast) and group (0-127)."""

    esl_id: int
    group: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.esl_id < BROADCAST_ESL_ID:
            raise ValueError(f"ESL ID {self.esl_id} outside 0..254")
        if not 0 <= self.group <= MAX_GROUP_ID:
            raise ValueError(f"group {self.group} outside 0..{MAX_GROUP_ID}")

    def to_bytes(self) -> bytes:
        return struct.pack("<H", self.esl_id | self.group << 8)

    @classmethod
    def from_bytes(cls, value: bytes) -> EslAddress:
        if len(value) != 2:
            raise MalformedGattValueError(what="ESL Address", value=value)
        (raw,) = struct.unpack("<H", value)
        if raw & 0x8000:
            raise MalformedGattValueError(what="ESL Address (RFU bit 15 set)", value=value)
        try:
            return cls(esl_id=raw & 0xFF, group=raw >> 8)
        except ValueError:
            raise MalformedGattValueError(what="ESL Address", value=value) from None


# ------------------------------------------------------------------ commands


@dataclass(frozen=True, slots=True)
class Ping:
    esl_id: int


@dataclass(frozen=True, slots=True)
class Unassociate:
    esl_id: int


@dataclass(frozen=True, slots=True)
class UpdateComplete:
    """Ends an update session: the label leaves the Updating state."""

    esl_id: int


@dataclass(frozen=True, slots=True)
class RefreshDisplay:
    esl_id: int
    display: int = 0


@dataclass(frozen=True, slots=True)
class DisplayImage:
    esl_id: int
    image: int
    display: int = 0


@dataclass(frozen=True, slots=True)
class DisplayTimedImage:
    """Show `image` when the label's clock reaches `absolute_time` (ESL Absolute Time)."""

    esl_id: int
    image: int
    absolute_time: int
    display: int = 0


@dataclass(frozen=True, slots=True)
class LedControl:
    """ESL LED Control: colour and brightness (2 bits each: R, G, B, brightness), a 40-bit
    flashing pattern, off and on periods (units of 100 ms) and a repeat field (bit 0:
    0 = count, 1 = seconds; bits 1-15: the count or duration)."""

    esl_id: int
    led: int = 0
    colour_brightness: int = 0b11_00_00_11  # full brightness, red
    pattern: bytes = b"\x55\x55\x55\x55\x05"
    off_period: int = 2
    on_period: int = 2
    repeat: int = (10 << 1) | 1  # for ten seconds

    def __post_init__(self) -> None:
        if len(self.pattern) != 5:
            raise ValueError("an LED flashing pattern has 5 bytes")

    @property
    def duration_s(self) -> int | None:
        """How long the LED flashes, when the repeat field counts seconds."""
        return self.repeat >> 1 if self.repeat & 1 else None


ControlPointCommand = (
    Ping
    | Unassociate
    | UpdateComplete
    | RefreshDisplay
    | DisplayImage
    | DisplayTimedImage
    | LedControl
)

_LED_FIELDS = struct.Struct("<BB5sBBH")


def encode_command(command: ControlPointCommand) -> bytes:
    match command:
        case Ping(esl_id=esl_id):
            return bytes([CommandOpcode.PING, esl_id])
        case Unassociate(esl_id=esl_id):
            return bytes([CommandOpcode.UNASSOCIATE, esl_id])
        case UpdateComplete(esl_id=esl_id):
            return bytes([CommandOpcode.UPDATE_COMPLETE, esl_id])
        case RefreshDisplay(esl_id=esl_id, display=display):
            return bytes([CommandOpcode.REFRESH_DISPLAY, esl_id, display])
        case DisplayImage(esl_id=esl_id, image=image, display=display):
            return bytes([CommandOpcode.DISPLAY_IMAGE, esl_id, display, image])
        case DisplayTimedImage():
            return bytes(
                [CommandOpcode.DISPLAY_TIMED_IMAGE, command.esl_id, command.display, command.image]
            ) + struct.pack("<I", command.absolute_time)
        case LedControl():
            return bytes([CommandOpcode.LED_CONTROL, command.esl_id]) + _LED_FIELDS.pack(
                command.led,
                command.colour_brightness,
                command.pattern,
                command.off_period,
                command.on_period,
                command.repeat,
            )
    raise AssertionError(f"unhandled command {command!r}")  # pragma: no cover


def decode_command(value: bytes) -> ControlPointCommand:
    """A command as the label reads it; `MalformedGattValueError` for anything else.

    The caller answers an unknown opcode with Error(Invalid Opcode): catch
    `MalformedGattValueError` whose `fields["what"]` is "opcode".
    """
    if len(value) < 2 or len(value) != message_length(value[0]):
        raise MalformedGattValueError(what="control point command", value=value)
    opcode, esl_id, params = value[0], value[1], value[2:]
    match opcode:
        case CommandOpcode.PING:
            return Ping(esl_id)
        case CommandOpcode.UNASSOCIATE:
            return Unassociate(esl_id)
        case CommandOpcode.UPDATE_COMPLETE:
            return UpdateComplete(esl_id)
        case CommandOpcode.REFRESH_DISPLAY:
            return RefreshDisplay(esl_id, display=params[0])
        case CommandOpcode.DISPLAY_IMAGE:
            return DisplayImage(esl_id, display=params[0], image=params[1])
        case CommandOpcode.DISPLAY_TIMED_IMAGE:
            (at,) = struct.unpack("<I", params[2:])
            return DisplayTimedImage(esl_id, display=params[0], image=params[1], absolute_time=at)
        case CommandOpcode.LED_CONTROL:
            led, colour, pattern, off, on, repeat = _LED_FIELDS.unpack(params)
            return LedControl(esl_id, led, colour, pattern, off, on, repeat)
    raise MalformedGattValueError(what="opcode", value=value)


# ------------------------------------------------------------------ responses


@dataclass(frozen=True, slots=True)
class EslErrorResponse:
    """Error (0x00): the command was refused; `code` is the ESL error code."""

    code: ReasonCode


@dataclass(frozen=True, slots=True)
class LedState:
    led: int


@dataclass(frozen=True, slots=True)
class BasicState:
    flags: BasicStateFlag


@dataclass(frozen=True, slots=True)
class DisplayState:
    display: int
    image: int


ControlPointResponse = EslErrorResponse | LedState | BasicState | DisplayState


def encode_response(response: ControlPointResponse) -> bytes:
    match response:
        case EslErrorResponse(code=code):
            return bytes([ResponseOpcode.ERROR, code])
        case LedState(led=led):
            return bytes([ResponseOpcode.LED_STATE, led])
        case BasicState(flags=flags):
            return bytes([ResponseOpcode.BASIC_STATE]) + struct.pack("<H", flags)
        case DisplayState(display=display, image=image):
            return bytes([ResponseOpcode.DISPLAY_STATE, display, image])
    raise AssertionError(f"unhandled response {response!r}")  # pragma: no cover


def decode_response(value: bytes) -> ControlPointResponse:
    """A control point notification as our own value; `MalformedGattValueError` otherwise."""
    if not value or len(value) != message_length(value[0]):
        raise MalformedGattValueError(what="control point response", value=value)
    match value[0]:
        case ResponseOpcode.ERROR:
            try:
                return EslErrorResponse(ReasonCode(value[1]))
            except ValueError:
                raise MalformedGattValueError(what="ESL error code", value=value) from None
        case ResponseOpcode.LED_STATE:
            return LedState(value[1])
        case ResponseOpcode.BASIC_STATE:
            (flags,) = struct.unpack("<H", value[1:])
            return BasicState(BasicStateFlag(flags & 0x1F))
        case ResponseOpcode.DISPLAY_STATE:
            return DisplayState(display=value[1], image=value[2])
    raise MalformedGattValueError(what="control point response opcode", value=value)
