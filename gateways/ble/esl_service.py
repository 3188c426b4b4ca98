"""Constants of the Bluetooth ESL Service 1.0, and the vendor characteristics we add to it.

Sources: Bluetooth SIG, *Electronic Shelf Label Service 1.0* (ESLS v1.0, 2023), and the
Nordic implementation `nrfconnect/sdk-nrf include/bluetooth/services/esl_common.h`.
16-bit SIG UUIDs are written out on the Bluetooth base UUID, as bleak reports them.

Error codes and Basic State flag bits are `gateways.protocol.ReasonCode` and
`BasicStateFlag`: our label protocol took the spec's values, so there is one table.

bleak has no L2CAP channels (hbldh/bleak#598), so the Object Transfer Service the spec
uses for images is out of reach. Image (frame) bytes travel over the vendor-specific
Frame Transfer service below instead; docs/ble.md specifies it.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Final

from gateways.protocol import BasicStateFlag, ReasonCode

__all__ = [
    "AP_SYNC_KEY_MATERIAL_UUID",
    "BROADCAST_ESL_ID",
    "CONTROL_POINT_UUID",
    "CURRENT_ABSOLUTE_TIME_UUID",
    "DISPLAY_INFORMATION_UUID",
    "ESL_ADDRESS_UUID",
    "ESL_SERVICE_UUID",
    "FINAL_ESL_ERRORS",
    "FINAL_TRANSFER_ERRORS",
    "FRAME_DATA_UUID",
    "FRAME_RESPONSE_UUID",
    "FRAME_TRANSFER_SERVICE_UUID",
    "FRAME_TRANSFER_STATUS_UUID",
    "IMAGE_INFORMATION_UUID",
    "KEY_MATERIAL_SIZE",
    "LABEL_KEY_UUID",
    "LED_INFORMATION_UUID",
    "MAX_GROUP_ID",
    "RESPONSE_KEY_MATERIAL_UUID",
    "SENSOR_INFORMATION_UUID",
    "BasicStateFlag",
    "CommandOpcode",
    "DisplayType",
    "ReasonCode",
    "ResponseOpcode",
    "TransferAttError",
    "sig_uuid",
]


def sig_uuid(short: int) -> str:
    """A 16-bit SIG UUID on the Bluetooth base UUID, lower case as bleak normalises it."""
    return f"0000{short:04x}-0000-1000-8000-00805f9b34fb"


ESL_SERVICE_UUID: Final = sig_uuid(0x1857)
ESL_ADDRESS_UUID: Final = sig_uuid(0x2BF6)
AP_SYNC_KEY_MATERIAL_UUID: Final = sig_uuid(0x2BF7)
RESPONSE_KEY_MATERIAL_UUID: Final = sig_uuid(0x2BF8)
CURRENT_ABSOLUTE_TIME_UUID: Final = sig_uuid(0x2BF9)
DISPLAY_INFORMATION_UUID: Final = sig_uuid(0x2BFA)
IMAGE_INFORMATION_UUID: Final = sig_uuid(0x2BFB)
SENSOR_INFORMATION_UUID: Final = sig_uuid(0x2BFC)
LED_INFORMATION_UUID: Final = sig_uuid(0x2BFD)
CONTROL_POINT_UUID: Final = sig_uuid(0x2BFE)

# Key material: a 128-bit session key followed by a 64-bit IV (ESLS 3.2, 3.3).
KEY_MATERIAL_SIZE: Final = 24
BROADCAST_ESL_ID: Final = 0xFF
MAX_GROUP_ID: Final = 0x7F

# Vendor-specific (ours): random 128-bit UUIDs sharing one base, differing in byte 3.
FRAME_TRANSFER_SERVICE_UUID: Final = "e51a0001-7c1b-4f5e-9a54-3e8d2c6b1f00"
FRAME_TRANSFER_STATUS_UUID: Final = "e51a0002-7c1b-4f5e-9a54-3e8d2c6b1f00"
FRAME_DATA_UUID: Final = "e51a0003-7c1b-4f5e-9a54-3e8d2c6b1f00"
FRAME_RESPONSE_UUID: Final = "e51a0004-7c1b-4f5e-9a54-3e8d2c6b1f00"
LABEL_KEY_UUID: Final = "e51a0005-7c1b-4f5e-9a54-3e8d2c6b1f00"


class CommandOpcode(IntEnum):
    """ESL Control Point commands. The high nibble says the parameter length: a command
    is `(opcode >> 4) + 2` bytes, the ESL ID included."""

    PING = 0x00
    UNASSOCIATE = 0x01
    SERVICE_RESET = 0x02
    FACTORY_RESET = 0x03
    UPDATE_COMPLETE = 0x04
    READ_SENSOR_DATA = 0x10
    REFRESH_DISPLAY = 0x11
    DISPLAY_IMAGE = 0x20
    DISPLAY_TIMED_IMAGE = 0x60
    LED_CONTROL = 0xB0
    TIMED_LED_CONTROL = 0xF0


class ResponseOpcode(IntEnum):
    """ESL Control Point responses (notified on the control point)."""

    ERROR = 0x00
    LED_STATE = 0x01
    BASIC_STATE = 0x10
    DISPLAY_STATE = 0x11


class DisplayType(IntEnum):
    """Display Information "display type" (Bluetooth Assigned Numbers, ESL display types)."""

    BLACK_WHITE = 0x01
    THREE_GRAY_SCALE = 0x02
    FOUR_GRAY_SCALE = 0x03
    EIGHT_GRAY_SCALE = 0x04
    SIXTEEN_GRAY_SCALE = 0x05
    RED_BLACK_WHITE = 0x06
    YELLOW_BLACK_WHITE = 0x07
    RED_YELLOW_BLACK_WHITE = 0x08
    SEVEN_COLOR = 0x09
    SIXTEEN_COLOR = 0x0A
    FULL_RGB = 0x0B


class TransferAttError(IntEnum):
    """ATT application errors (0x80-0x9F) a label answers a Frame Data write with."""

    WRONG_OFFSET = 0x80
    CHUNK_CRC = 0x81
    NO_TRANSFER = 0x82
    TOO_LARGE = 0x83


# Which refusals the same frame, sent again, can never get past: a store gateway reports
# those to the controller as final (it parks the update for good; a Bluetooth label sends
# no check-ins to revive it), every other failure as one to retry.
#
# ESL error codes a label answers the control point command for a frame with, unsigned
# (a refusal the label signs is its answer to the frame, judged by the controller). The
# driver builds that command from the frame, so each of these comes again every time:
FINAL_ESL_ERRORS: Final = frozenset(
    {
        ReasonCode.INVALID_OPCODE,  # the label has no such command
        ReasonCode.INVALID_STATE,  # not associated (or no frame): an installer associates it
        ReasonCode.INVALID_IMAGE_INDEX,  # the frame's page is beyond the label's slots
        ReasonCode.IMAGE_NOT_AVAILABLE,  # the page the frame names holds no image
        ReasonCode.INVALID_PARAMETERS,  # the command (or the ESL ID it names) is wrong
        ReasonCode.CAPACITY_LIMIT,  # the answer would not fit, whenever it is asked
        ReasonCode.IMPLAUSIBLE_ABSOLUTE_TIME,  # the frame's instant is off the label's clock
    }
)
# Not final: Unspecified Error (nothing says it comes again), Insufficient Battery (a
# browned-out label), Insufficient Resources ("may be a temporary condition", ESLS),
# Retry (the spec asks for the same command again), Queue Full (timed commands fall due)
# and the vendor codes (a label signs those). Nor is any failure of the link, a chunk
# refused for its CRC or offset after the driver's own retries (radio noise: the
# controller's retries and back-off, then parking it offline, handle a label that keeps
# failing), another device's transfer begun on the label, or a value that does not parse.
#
# Frame Transfer refusals (ATT application errors) of the same kind:
FINAL_TRANSFER_ERRORS: Final = frozenset({TransferAttError.TOO_LARGE})  # no room for it
