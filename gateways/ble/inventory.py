"""What the controller learns about a BLE label, as values (no bleak here).

`LabelInventoryRecord` is the result of association; the parsers read the ESL Service's
information characteristics (ESLS 1.0 sections 3.6-3.8).
"""

from __future__ import annotations

import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from gateways.ble.control_point import EslAddress
from gateways.ble.errors import MalformedGattValueError
from gateways.ble.esl_service import KEY_MATERIAL_SIZE, DisplayType
from gateways.protocol import check_label_key

__all__ = [
    "AdvertisedLabel",
    "BleLabelAddress",
    "Discover",
    "DisplayInformation",
    "LabelInventoryRecord",
    "LedInformation",
    "esl_key_material",
    "parse_display_information",
    "parse_led_information",
]


@dataclass(frozen=True, slots=True)
class BleLabelAddress:
    """Where a label is: its BLE address and the ESL ID it was given at association."""

    label_id: str
    address: str
    esl_id: int


@dataclass(frozen=True, slots=True)
class AdvertisedLabel:
    """A label seen advertising the ESL Service."""

    address: str
    name: str | None
    rssi_dbm: int | None


Discover = Callable[[float], Awaitable[list[AdvertisedLabel]]]


@dataclass(frozen=True, slots=True)
class DisplayInformation:
    """One Display Information entry (5 bytes: width u16, height u16, display type u8)."""

    width: int
    height: int
    display_type: DisplayType | int


@dataclass(frozen=True, slots=True)
class LedInformation:
    """One LED Information byte: bits 6-7 type (0 sRGB, 1 monochrome), bits 0-5 colour."""

    srgb: bool
    colour_bits: int


@dataclass(frozen=True, slots=True)
class LabelInventoryRecord:
    """What association learned about a label, for the inventory."""

    address: str
    esl_address: EslAddress
    displays: tuple[DisplayInformation, ...]
    max_image_index: int
    leds: tuple[LedInformation, ...]
    associated_at: datetime

    @property
    def image_slots(self) -> int:
        return self.max_image_index + 1


def esl_key_material(label_key: bytes) -> tuple[bytes, bytes]:
    """(AP Sync Key Material, ESL Response Key Material), 24 bytes each, from the label key."""
    check_label_key(label_key)
    return tuple(  # type: ignore[return-value]
        HKDF(algorithm=hashes.SHA256(), length=KEY_MATERIAL_SIZE, salt=None, info=info).derive(
            label_key
        )
        for info in (b"esl ap sync key material", b"esl response key material")
    )


def parse_display_information(value: bytes) -> tuple[DisplayInformation, ...]:
    if not value or len(value) % 5:
        raise MalformedGattValueError(what="Display Information", value=value)
    entries = []
    for width, height, kind in struct.iter_unpack("<HHB", value):
        try:
            display_type: DisplayType | int = DisplayType(kind)
        except ValueError:
            display_type = kind
        entries.append(DisplayInformation(width=width, height=height, display_type=display_type))
    return tuple(entries)


def parse_led_information(value: bytes) -> tuple[LedInformation, ...]:
    return tuple(LedInformation(srgb=byte >> 6 == 0, colour_bits=byte & 0x3F) for byte in value)
