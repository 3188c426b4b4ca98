"""Finding unassociated labels and associating them (the ESL Service's Configuring state).

    found = await discover_labels()                  # scan filtered on service 0x1857
    record = await associate_label(found[0].address, esl_address=EslAddress(7, group=1),
                                   label_key=key, at=now, client_factory=BleakClient)

Association pairs first (LE Secure Connections: the link is encrypted, so a sniffer in
the store learns no key), then writes ESL Address, AP Sync Key Material, ESL Response Key
Material and Current Absolute Time, then our label protocol key (vendor characteristic:
the signed frames need it), reads Display, Image and LED Information and ends with Update
Complete. The result is a frozen `LabelInventoryRecord` for the controller to store.

Both key materials are derived from the label key (HKDF-SHA256, one `info` each), so the
controller keeps one secret per label, as it does for MQTT labels.
"""

from __future__ import annotations

import struct
from datetime import datetime

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
    LABEL_KEY_UUID,
    LED_INFORMATION_UUID,
    RESPONSE_KEY_MATERIAL_UUID,
    BasicStateFlag,
)
from gateways.ble.inventory import (
    AdvertisedLabel,
    LabelInventoryRecord,
    esl_key_material,
    parse_display_information,
    parse_led_information,
)
from gateways.ble.link import (
    DEFAULT_CONNECT_POLICY,
    ClientFactory,
    ConnectPolicy,
    LinkLostError,
    open_link,
)

__all__ = ["associate_label", "discover_labels"]


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


async def associate_label(
    address: str,
    *,
    esl_address: EslAddress,
    label_key: bytes,
    at: datetime,
    client_factory: ClientFactory,
    policy: ConnectPolicy = DEFAULT_CONNECT_POLICY,
) -> LabelInventoryRecord:
    """Configure an unassociated label and read what it can do.

    Raises `BleConnectError` when the label cannot be reached, `AssociationFailedError`
    when pairing fails or the label refuses a write or drops the link,
    `ControlPointRefusedError` when it refuses to leave Configuring,
    `MalformedGattValueError` for unreadable information.
    """
    ap_sync_key, response_key = esl_key_material(label_key)
    async with open_link(address, client_factory=client_factory, policy=policy) as link:
        try:
            await link.pair()
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
