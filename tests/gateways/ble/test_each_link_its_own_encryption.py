"""A label's encryption is its link's, not the label's: another device in range during
association neither borrows the installer's pairing nor ends it (docs/ble.md, Why
pairing). Found by a hunter; the first case is the hunter's."""

from __future__ import annotations

import asyncio
import struct

import pytest
from bleak.exc import BleakError, BleakGATTProtocolError

from firmware_sim.ble.gatt_label import INSUFFICIENT_ENCRYPTION
from gateways.ble.bumble_client import BumbleCentral, bumble_client_factory
from gateways.ble.control_point import EslAddress
from gateways.ble.esl_service import (
    AP_SYNC_KEY_MATERIAL_UUID,
    CURRENT_ABSOLUTE_TIME_UUID,
    ESL_ADDRESS_UUID,
    LABEL_KEY_UUID,
    RESPONSE_KEY_MATERIAL_UUID,
)
from gateways.ble.inventory import esl_key_material
from gateways.protocol import LabelState, Ping, decode_response
from tests.gateways.ble.ble_store import (
    address_of,
    associate,
    key_of,
    label_id_of,
    make_bumble_store,
    make_store,
)

_ATTACKER_KEY = bytes(range(32))


async def test_a_central_that_never_paired_cannot_configure_a_label_the_installer_paired() -> None:
    # The installer's link is encrypted; a phone in range connects at the same moment
    # and, without pairing, writes its own address, key materials, time and key.
    store = make_store(1, associated=False)
    installer = store.client_factory(address_of(1))
    intruder = store.client_factory(address_of(1))
    await installer.connect()
    await installer.pair()
    await intruder.connect()  # never pairs: its link is not encrypted
    ap_sync, response = esl_key_material(_ATTACKER_KEY)
    try:
        for uuid, value in (
            (ESL_ADDRESS_UUID, EslAddress(esl_id=9).to_bytes()),
            (AP_SYNC_KEY_MATERIAL_UUID, ap_sync),
            (RESPONSE_KEY_MATERIAL_UUID, response),
            (CURRENT_ABSOLUTE_TIME_UUID, struct.pack("<I", 1234)),
            (LABEL_KEY_UUID, _ATTACKER_KEY),
        ):
            with pytest.raises(BleakGATTProtocolError) as caught:
                await intruder.write_gatt_char(uuid, value, response=True)
            assert caught.value.args[0] == INSUFFICIENT_ENCRYPTION, uuid
    finally:
        await intruder.disconnect()
        await installer.disconnect()
    label = store.label(1)
    assert label.label.associated is False
    assert (label.esl_address, label.ap_sync_key, label.response_key) == (None, None, None)
    assert label.absolute_time_ms is None


async def test_a_device_leaving_mid_association_does_not_end_the_installers() -> None:
    # Another device connects to the label while the installer configures it, and goes:
    # its link ends, the installer's stays encrypted and in Configuring, and the label
    # answers frames signed with the installer's key.
    store = make_store(1, associated=False)
    label = store.label(1)
    key = key_of(label_id_of(1))
    installing = asyncio.ensure_future(
        associate(store, address_of(1), esl_address=EslAddress(esl_id=1), label_key=key)
    )
    while label.esl_address is None:  # paired, and its first write is in
        await asyncio.sleep(0)
    passer_by = store.client_factory(address_of(1))
    await passer_by.connect()
    await passer_by.disconnect()

    record = await installing

    assert record.esl_address == EslAddress(esl_id=1)
    assert (label.ap_sync_key, label.response_key) == esl_key_material(key)
    assert label.label.state(now=store.clock()) is LabelState.CONFIGURED
    async with store.gateway(1) as gateway:
        await gateway.send(store.frame(1, Ping()))
    signed = gateway.deliveries[label_id_of(1)].signed_response
    assert signed is not None
    assert decode_response(signed, key=key).acked


async def test_over_bumble_a_label_the_installer_is_connected_to_takes_no_second_central() -> None:
    # A bumble label, like an ESL with one connection, stops advertising once connected:
    # a second access point or phone does not reach it at all while the installer's link
    # is up, and the installer's link stays.
    store = make_bumble_store(1, associated=False)
    installer = store.client_factory(address_of(1))
    await installer.connect()
    await installer.pair()
    other_adapter = BumbleCentral(store.radio.central_device("F0:0D:CA:FE:00:02"))
    intruder = bumble_client_factory(other_adapter, timeout_s=1.0)(address_of(1))
    try:
        with pytest.raises(BleakError, match="connection failed"):
            await intruder.connect()
        assert installer.is_connected
    finally:
        await installer.disconnect()
    assert store.label(1).label.associated is False
