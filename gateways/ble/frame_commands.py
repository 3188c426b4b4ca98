"""Which ESL Control Point command carries out a signed protocol frame.

After a frame has been transferred, one control point command tells the label to act on
it. The driver picks it from the frame's cleartext, without the label's key; the label
makes the same choice from the frame it holds and refuses a command that does not match
(Invalid Parameters), so the unauthenticated command can never change what the signed
frame asked for.

    Image Update, Switch Page   Display Image, or Display Timed Image when display_at is set
    Flash LED                   LED Control (repeat counted in seconds)
    Unassociate                 Unassociate
    Ping, Set Clock             Ping
"""

from __future__ import annotations

from gateways.ble.control_point import (
    ControlPointCommand,
    DisplayImage,
    DisplayTimedImage,
    LedControl,
    Ping,
    Unassociate,
    absolute_time_of,
)
from gateways.protocol import (
    MAC_SIZE,
    FlashLed,
    FrameKind,
    ImageUpdate,
    LedColour,
    Opcode,
    ProtocolError,
    SwitchPage,
    peek_header,
)
from gateways.protocol import Unassociate as UnassociateFrame
from gateways.protocol._wire import Reader  # the protocol's own reader, minus the MAC check
from gateways.protocol.commands import read_chunks, unpack_command

__all__ = ["control_command_for", "led_control_for"]

_COLOUR_BITS = {LedColour.RED: 0b11, LedColour.GREEN: 0b11 << 2, LedColour.BLUE: 0b11 << 4}
_FULL_BRIGHTNESS = 0b11 << 6


def led_control_for(command: FlashLed, *, esl_id: int) -> LedControl:
    return LedControl(
        esl_id=esl_id,
        led=command.led,
        colour_brightness=_COLOUR_BITS[command.colour] | _FULL_BRIGHTNESS,
        repeat=(min(command.duration_s, 0x7FFF) << 1) | 1,
    )


def control_command_for(frame: bytes, *, esl_id: int) -> ControlPointCommand:
    """The control point command that makes a label act on `frame` (Ping if unreadable:
    the label then answers the frame with a signed refusal saying what is wrong)."""
    try:
        header = peek_header(frame)
        if header.kind is not FrameKind.COMMAND:
            return Ping(esl_id)
        reader = Reader(frame, start=header.size, end=len(frame) - MAC_SIZE, header=header)
        opcode = reader.u8()
        chunks = read_chunks(reader) if opcode == Opcode.IMAGE_UPDATE else None
        if chunks is not None:
            reader.offset = header.size + 1
        command = unpack_command(opcode, reader, chunks)
    except (ProtocolError, ValueError):
        return Ping(esl_id)
    match command:
        case ImageUpdate(page=page, display_at=at) | SwitchPage(page=page, display_at=at):
            if at is None:
                return DisplayImage(esl_id=esl_id, image=page)
            return DisplayTimedImage(esl_id=esl_id, image=page, absolute_time=absolute_time_of(at))
        case FlashLed():
            return led_control_for(command, esl_id=esl_id)
        case UnassociateFrame():
            return Unassociate(esl_id)
    return Ping(esl_id)
