"""Which ESL Control Point command carries out a signed protocol frame.

After a frame has been transferred, one control point command tells the label to act on
it. The driver picks it from the frame's cleartext, without the label's key; the label
makes the same choice from the frame it holds and refuses a command that does not match
(Invalid Parameters), so the unauthenticated command can never change what the signed
frame asked for.

    Image Update, Switch Page   Display Image, or Display Timed Image when display_at is set
    Flash LED                   LED Control (repeat counted in seconds)
    Unassociate                 Unassociate
    Refresh Display             Refresh Display
    Ping, Set Clock             Ping
"""

from __future__ import annotations

from gateways.ble.control_point import (
    ControlPointCommand,
    DisplayImage,
    DisplayTimedImage,
    LedControl,
    Ping,
    RefreshDisplay,
    Unassociate,
    absolute_time_of,
)
from gateways.protocol import (
    FlashLed,
    ImageUpdate,
    LedColour,
    ProtocolError,
    SwitchPage,
    peek_command,
)
from gateways.protocol import RefreshDisplay as RefreshDisplayFrame
from gateways.protocol import Unassociate as UnassociateFrame

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
        command = peek_command(frame)
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
        case RefreshDisplayFrame():
            return RefreshDisplay(esl_id, display=0)
    return Ping(esl_id)
