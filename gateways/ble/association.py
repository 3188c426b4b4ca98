"""Finding unassociated labels and associating them (the ESL Service's Configuring state).

    found = await discover_labels()                  # scan filtered on service 0x1857
    record = await associate_label(found[0].address, esl_address=EslAddress(7, group=1),
                                   label_key=key, at=now, client_factory=BleakClient)

Association writes ESL Address, AP Sync Key Material, ESL Response Key Material and
Current Absolute Time, then our label protocol key (vendor characteristic: the signed
frames need it), reads Display, Image and LED Information and ends with Update Complete.
The result is a frozen `LabelInventoryRecord` for the controller to store.

Both key materials are derived from the label key (HKDF-SHA256, one `info` each), so the
controller keeps one secret per label, as it does for MQTT labels.
"""

from __future__ import annotations

import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from gateways.ble.control_point import (
    BasicState,
    EslAddress,
    EslErrorResponse,
    UpdateComplete,
    absolute_time_of,
)
from gateways.ble.errors import (
    AssociationFailedError,
    ControlPointRefusedError,
    MalformedGattValueError,
)
from gateways.ble.esl_service import (
    AP_SYNC_KEY_MATERIAL_UUID,
    CURRENT_ABSOLUTE_TIME_UUID,
    DISPLAY_INFORMATION_UUID,
    ESL_ADDRESS_UUID,
    ESL_SERVICE_UUID,
    IMAGE_INFORMATION_UUID,
    KEY_MATERIAL_SIZE,
    LABEL_KEY_UUID,
    LED_INFORMATION_UUID,
    RESPONSE_KEY_MATERIAL_UUID,
    BasicStateFlag,
    DisplayType,
)
from gateways.ble.link import ClientFactory, ConnectPolicy, LinkLostError, open_link
from gateways.protocol import check_label_key

__all__ = [
    "AdvertisedLabel",
    "Discover",
    "DisplayInformation",
    "LabelInventoryRecord",
    "LedInformation",
    "associate_label",
    "discover_labels",
    "esl_key_material",
    "parse_display_information",
    "parse_led_information",
]


@dataclass(frozen=True, slots=True)
class AdvertisedLabel:
    """A label seen advertising the ESL Service."""

    address: str
    name: str | None
    rssi_dbm: int | None


Discover = Callable[[float], Awaitable[list[AdvertisedLabel]]]


async def discover_labels(timeout_s: float = 5.0) -> list[AdvertisedLabel]:
    """Scan with the platform's adapter for devices advertising the ESL Service."""
    from bleak import BleakScanner  # only a real scan needs the platform backend

    found = await BleakScanner.discover(
        timeout=timeout_s, service_uuids=[ESL_SERVICE_UUID], return_adv=True
    )
    return [
        AdvertisedLabel(address=device.address, name=device.name, rssi_dbm=advertisement.rssi)
        for device, advertisement in found.values()
        if ESL_SERVICE_UUID in advertisement.service_uuids
    ]


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


async def associate_label(
    address: str,
    *,
    esl_address: EslAddress,
    label_key: bytes,
    at: datetime,
    client_factory: ClientFactory,
    policy: ConnectPolicy = ConnectPolicy(),
) -> LabelInventoryRecord:
    """Configure an unassociated label and read what it can do.

    Raises `BleConnectError` when the label cannot be reached, `AssociationFailedError`
    when it refuses a write or drops the link, `ControlPointRefusedError` when it refuses
    to leave Configuring, `MalformedGattValueError` for unreadable information.
    """
    ap_sync_key, response_key = esl_key_material(label_key)
    async with open_link(address, client_factory=client_factory, policy=policy) as link:
        try:
            await link.write(ESL_ADDRESS_UUID, esl_address.to_bytes())
            await link.write(AP_SYNC_KEY_MATERIAL_UUID, ap_sync_key)
            await link.write(RESPONSE_KEY_MATERIAL_UUID, response_key)
            await link.write(CURRENT_ABSOLUTE_TIME_UUID, struct.pack("<I", absolute_time_of(at)))
            await link.write(LABEL_KEY_UUID, label_key)
            displays = parse_display_information(await link.read(DISPLAY_INFORMATION_UUID))
            image_information = await link.read(IMAGE_INFORMATION_UUID)
            leds = parse_led_information(await link.read(LED_INFORMATION_UUID))
            done = await link.command(UpdateComplete(esl_address.esl_id))
        except LinkLostError as error:
            raise AssociationFailedError(address=address, reason=str(error)) from error
    if len(image_information) != 1:
        raise MalformedGattValueError(what="Image Information", value=image_information)
    if isinstance(done, EslErrorResponse):
        raise ControlPointRefusedError(address=address, command="Update Complete", reason=done.code)
    if not (isinstance(done, BasicState) and BasicStateFlag.SYNCHRONIZED in done.flags):
        raise AssociationFailedError(address=address, reason=f"not synchronised: {done}")
    return LabelInventoryRecord(
        address=address,
        esl_address=esl_address,
        displays=displays,
        max_image_index=image_information[0],
        leds=leds,
        associated_at=at,
    )
