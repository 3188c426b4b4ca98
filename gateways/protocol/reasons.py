"""Reason codes, label states and state flags, named after the Bluetooth ESL Service.

Where our protocol and the ESL Service (Bluetooth SIG, ESL Service 1.0) mean the same
thing, the constant has the spec's name and value, so the BLE driver can pass them
through unchanged. Codes the spec does not have live in its vendor-specific range
0xF0-0xFF.
"""

from __future__ import annotations

from enum import IntEnum, IntFlag

__all__ = ["BasicStateFlag", "LabelState", "ReasonCode"]


class ReasonCode(IntEnum):
    """Why a label acknowledged (SUCCESS) or refused a frame."""

    SUCCESS = 0x00
    # ESL Service error codes (ESL Control Point "Error" response), same values.
    UNSPECIFIED_ERROR = 0x01
    INVALID_OPCODE = 0x02
    INVALID_STATE = 0x03
    INVALID_IMAGE_INDEX = 0x04
    IMAGE_NOT_AVAILABLE = 0x05
    INVALID_PARAMETERS = 0x06
    CAPACITY_LIMIT = 0x07
    INSUFFICIENT_BATTERY = 0x08
    INSUFFICIENT_RESOURCES = 0x09
    RETRY = 0x0A
    QUEUE_FULL = 0x0B
    IMPLAUSIBLE_ABSOLUTE_TIME = 0x0C
    # Vendor-specific range of the ESL error codes: what the spec leaves to the vendor.
    BAD_MAC = 0xF0
    STALE_SEQUENCE = 0xF1
    UNKNOWN_BASE_IMAGE = 0xF2
    WRONG_MODEL = 0xF3
    CORRUPT_CHUNK = 0xF4
    CORRUPT_IMAGE = 0xF5
    WRONG_LABEL = 0xF6
    MALFORMED_FRAME = 0xF7
    UNSUPPORTED_VERSION = 0xF8
    # The words for two ESL codes.
    LOW_BATTERY = INSUFFICIENT_BATTERY
    BUSY = RETRY

    @property
    def is_transient(self) -> bool:
        """True when sending the same command again later may succeed."""
        return self in _TRANSIENT


_TRANSIENT = frozenset({ReasonCode.RETRY, ReasonCode.QUEUE_FULL, ReasonCode.INSUFFICIENT_BATTERY})


class LabelState(IntEnum):
    """The ESL Service state machine (the spec names the states; the numbers are ours)."""

    UNASSOCIATED = 0
    CONFIGURING = 1
    CONFIGURED = 2
    SYNCHRONIZED = 3
    UPDATING = 4
    UNSYNCHRONIZED = 5


class BasicStateFlag(IntFlag):
    """The ESL "Basic State" response bits, same positions as the spec."""

    NONE = 0
    SERVICE_NEEDED = 1 << 0
    SYNCHRONIZED = 1 << 1
    ACTIVE_LED = 1 << 2
    PENDING_LED_UPDATE = 1 << 3
    PENDING_DISPLAY_UPDATE = 1 << 4
