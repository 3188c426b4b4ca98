"""The driver's bleak code over a real Bluetooth host stack: bumble on both ends.

The labels are bumble peripherals on bumble's virtual link (`firmware_sim.ble.bumble_air`)
and the driver's `BleakClient`s run on `gateways.ble.bumble_client`, so every update
below crosses bumble's HCI, L2CAP and ATT code: MTU exchange, service discovery, write
requests and their responses or ATT errors, CCCD writes, notifications, disconnections.
"""

from __future__ import annotations

import asyncio
import socket
from datetime import timedelta

import numpy as np
import pytest
from bleak.exc import BleakError, BleakGATTProtocolError
from bumble.transport.tcp_server import open_tcp_server_transport_with_socket

from firmware_sim.ble.bumble_air import BumbleAir
from firmware_sim.ble.gatt_label import INSUFFICIENT_ENCRYPTION
from gateways.ble.bumble_client import BumbleCentral, bumble_client_factory, open_bumble_central
from gateways.ble.control_point import (
    BasicState,
    DisplayImage,
    DisplayState,
    DisplayTimedImage,
    EslAddress,
    LedControl,
    LedState,
    Unassociate,
    absolute_time_of,
)
from gateways.ble.driver import BleGateway
from gateways.ble.errors import AssociationFailedError, BleConnectError
from gateways.ble.esl_service import (
    AP_SYNC_KEY_MATERIAL_UUID,
    DISPLAY_INFORMATION_UUID,
    ESL_ADDRESS_UUID,
    FRAME_DATA_UUID,
    LABEL_KEY_UUID,
    BasicStateFlag,
    DisplayType,
    TransferAttError,
)
from gateways.ble.frame_transfer import chunk_size_for_mtu, encode_chunk
from gateways.ble.inventory import DisplayInformation, esl_key_material
from gateways.ble.pairing_code import PairingCode
from gateways.protocol import (
    FlashLed,
    LabelState,
    LedColour,
    LedPattern,
    Ping,
    ReasonCode,
    build_image_update,
    decode_response,
)
from gateways.protocol import Unassociate as UnassociateFrame
from rendering.encoding import image_from_planes
from rendering.render import render_label
from tests.gateways.ble.ble_store import (
    BUMBLE_CONNECT_TIMEOUT_S,
    FAST,
    MODEL,
    STORE,
    BumbleStore,
    address_of,
    associate,
    key_of,
    label_id_of,
    make_bumble_store,
    make_store,
    reference_planes,
)
from tests.rendering.label_samples import PLAIN, PROMOTION
from tests.support.cli_process import libraries_loaded_by

PROMOTION_PLANES = reference_planes(PROMOTION)
PLAIN_PLANES = reference_planes(PLAIN)
# L2CAP PDUs of one update session beside the Frame Data writes and their responses:
# connection set-up, MTU exchange, discovery, subscriptions, commands (43 to 65 here).
SESSION_PDUS_AT_MOST = 100


def _signed_reason(store: BumbleStore, index: int, signed: bytes | None) -> ReasonCode:
    assert signed is not None
    return decode_response(signed, key=key_of(label_id_of(index))).reason


async def test_a_full_update_shows_exactly_the_pixels_sent() -> None:
    store = make_bumble_store(1)
    async with store.gateway(1) as gateway:
        await gateway.send(store.frame(1, build_image_update(PROMOTION_PLANES, model_id=MODEL.id)))

    label = store.label(1).label
    shown = np.asarray(image_from_planes(label.shown, palette=MODEL.palette))
    assert np.array_equal(shown, np.asarray(render_label(PROMOTION, model=MODEL)))
    delivery = gateway.deliveries[label_id_of(1)]
    assert (delivery.command, delivery.response) == (DisplayImage(1, 0), DisplayState(0, 0))
    assert _signed_reason(store, 1, delivery.signed_response) is ReasonCode.SUCCESS


async def test_association_over_bumble_then_the_label_answers_with_its_new_key() -> None:
    store = make_bumble_store(1, associated=False)
    key = key_of(label_id_of(1))

    record = await associate(
        store, address_of(1), esl_address=EslAddress(esl_id=1, group=2), label_key=key
    )
    assert record.displays == (
        DisplayInformation(MODEL.width, MODEL.height, DisplayType.RED_BLACK_WHITE),
    )
    assert record.image_slots == 4
    assert (store.label(1).ap_sync_key, store.label(1).response_key) == esl_key_material(key)

    async with store.gateway(1) as gateway:
        await gateway.send(store.frame(1, Ping()))
    signed = gateway.deliveries[label_id_of(1)].signed_response
    assert _signed_reason(store, 1, signed) is ReasonCode.SUCCESS


async def test_a_timed_image_waits_for_its_instant() -> None:
    store = make_bumble_store(1)
    at = store.clock() + timedelta(minutes=10)
    update = build_image_update(PROMOTION_PLANES, model_id=MODEL.id, page=1, display_at=at)
    async with store.gateway(1) as gateway:
        await gateway.send(store.frame(1, update))

    delivery = gateway.deliveries[label_id_of(1)]
    assert delivery.command == DisplayTimedImage(1, image=1, absolute_time=absolute_time_of(at))
    assert isinstance(delivery.response, BasicState)
    assert BasicStateFlag.PENDING_DISPLAY_UPDATE in delivery.response.flags
    label = store.label(1).label
    assert label.shown is None
    store.clock.advance(timedelta(minutes=10))
    label.state(now=store.clock())
    assert (label.shown, label.shown_page) == (PROMOTION_PLANES, 1)


async def test_led_ping_and_refresh_over_bumble() -> None:
    store = make_bumble_store(2)
    flash = FlashLed(colour=LedColour.GREEN, pattern=LedPattern.BLINK, duration_s=30)
    async with store.gateway(2) as gateway:
        await gateway.send(store.frame(1, flash))
        await gateway.send(store.frame(2, build_image_update(PLAIN_PLANES, model_id=MODEL.id)))
        found = await gateway.flash_led(label_id_of(2), duration_s=5)
        state = await gateway.ping(label_id_of(2))
        refreshed = await gateway.refresh_display(label_id_of(2))

    delivery = gateway.deliveries[label_id_of(1)]
    assert isinstance(delivery.command, LedControl)
    assert (delivery.command.duration_s, delivery.response) == (30, LedState(0))
    assert _signed_reason(store, 1, delivery.signed_response) is ReasonCode.SUCCESS
    assert found == LedState(0)
    assert BasicStateFlag.ACTIVE_LED in state.flags
    assert refreshed == DisplayState(display=0, image=0)
    assert store.label(2).display_refreshes == 1


async def test_unassociate_over_bumble_releases_the_label() -> None:
    store = make_bumble_store(1)
    async with store.gateway(1) as gateway:
        await gateway.send(store.frame(1, UnassociateFrame()))

    delivery = gateway.deliveries[label_id_of(1)]
    assert delivery.command == Unassociate(1)
    assert _signed_reason(store, 1, delivery.signed_response) is ReasonCode.SUCCESS
    assert store.label(1).label.state(now=store.clock()) is LabelState.UNASSOCIATED
    assert store.label(1).esl_address is None


async def test_a_label_not_on_the_link_is_a_connect_error() -> None:
    store = make_bumble_store(1)
    store.connect_timeout_s = 0.2  # nobody will ever answer: no need to wait long
    with pytest.raises(BleConnectError) as caught:
        await associate(
            store, "C0:FF:EE:99:99:99", esl_address=EslAddress(esl_id=1), label_key=bytes(32)
        )
    assert caught.value.fields["attempts"] == FAST.attempts


async def test_a_central_that_does_not_pair_cannot_give_a_label_its_keys() -> None:
    store = make_bumble_store(1, associated=False)
    label = store.label(1)
    key = key_of(label_id_of(1))
    client = store.client_factory(address_of(1))
    await client.connect()
    try:
        # An access point (or anybody) writing in clear: each write is refused with ATT
        # Insufficient Encryption, before the label takes anything.
        for uuid, value in (
            (ESL_ADDRESS_UUID, EslAddress(esl_id=1, group=0).to_bytes()),
            (AP_SYNC_KEY_MATERIAL_UUID, esl_key_material(key)[0]),
            (LABEL_KEY_UUID, key),
        ):
            with pytest.raises(BleakGATTProtocolError) as caught:
                await client.write_gatt_char(uuid, value, response=True)
            assert caught.value.args[0] == INSUFFICIENT_ENCRYPTION
        assert (label.esl_address, label.ap_sync_key) == (None, None)
        assert label.label.state(now=store.clock()) is LabelState.UNASSOCIATED
        # Paired (LE Secure Connections over bumble's SMP), the same link may configure.
        await client.pair()
        await client.write_gatt_char(
            ESL_ADDRESS_UUID, EslAddress(esl_id=1, group=0).to_bytes(), response=True
        )
        assert label.esl_address == EslAddress(esl_id=1, group=0)
    finally:
        await client.disconnect()


async def test_an_att_error_response_reaches_bleak_with_its_code() -> None:
    store = make_bumble_store(1)
    client = store.client_factory(address_of(1))
    await client.connect()
    try:
        # Frame Data before a transfer was begun: the label answers ATT error 0x82.
        with pytest.raises(BleakGATTProtocolError) as caught:
            await client.write_gatt_char(FRAME_DATA_UUID, encode_chunk(0, b"x" * 8), response=True)
        assert caught.value.args[0] == TransferAttError.NO_TRANSFER
        assert len(await client.read_gatt_char(DISPLAY_INFORMATION_UUID)) == 5
    finally:
        await client.disconnect()
    assert not client.is_connected
    with pytest.raises(BleakError):
        await client.read_gatt_char(DISPLAY_INFORMATION_UUID)


@pytest.mark.parametrize(
    ("central_mtu", "label_mtu", "negotiated"),
    [(23, 247, 23), (517, 247, 247), (517, 517, 517)],
    ids=["smallest", "label-limits", "largest"],
)
async def test_the_mtu_is_negotiated_and_chunks_follow_it(
    central_mtu: int, label_mtu: int, negotiated: int
) -> None:
    store = make_bumble_store(1, central_mtu=central_mtu, label_mtu=label_mtu)
    client = store.client_factory(address_of(1))
    await client.connect()
    try:
        assert client.mtu_size == negotiated
        frame_data = client.services.get_characteristic(FRAME_DATA_UUID)
        assert frame_data is not None
        assert frame_data.max_write_without_response_size == negotiated - 3
    finally:
        await client.disconnect()

    frame = store.frame(1, build_image_update(PROMOTION_PLANES, model_id=MODEL.id))
    pdus_before = store.radio.l2cap_pdus
    async with store.gateway(1) as gateway:
        await gateway.send(frame)
    session_pdus = store.radio.l2cap_pdus - pdus_before
    assert store.label(1).label.shown == PROMOTION_PLANES
    # The label's signed answer reaches the pipeline whole at every MTU: a notification
    # carries MTU - 3 bytes, so a longer one is read (Read Blob) after it.
    delivery = gateway.deliveries[label_id_of(1)]
    assert delivery.signed_response is not None
    answer = decode_response(delivery.signed_response, key=key_of(label_id_of(1)))
    assert answer.reason is ReasonCode.SUCCESS
    (transfer,) = delivery.transfers
    assert transfer.bytes_sent == len(frame.payload)
    # A chunk is one Write Request and one attribute value (at most 512 bytes) ...
    assert chunk_size_for_mtu(negotiated) + 8 == min(negotiated - 3, 512)
    # ... and the link carried a request and a response for each chunk at this MTU,
    # plus the session around them (discovery, subscriptions, commands).
    chunks = -(-len(frame.payload) // chunk_size_for_mtu(negotiated))
    assert 2 * chunks < session_pdus < 2 * chunks + SESSION_PDUS_AT_MOST


async def test_several_labels_at_once_over_one_central() -> None:
    store = make_bumble_store(5)
    async with store.gateway(5, max_connections=3) as gateway:
        await asyncio.gather(
            *(
                gateway.send(store.frame(i, build_image_update(PLAIN_PLANES, model_id=MODEL.id)))
                for i in range(1, 6)
            )
        )
    assert all(store.label(i).label.shown == PLAIN_PLANES for i in range(1, 6))
    assert not any(store.label(i).connected for i in range(1, 6))


async def test_the_driver_reaches_labels_through_a_controller_on_an_hci_transport() -> None:
    # As with a USB dongle: our host speaks HCI bytes (H4 over TCP here) to a controller.
    store = make_bumble_store(1)
    listening = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listening.bind(("127.0.0.1", 0))
    port = listening.getsockname()[1]
    server = await open_tcp_server_transport_with_socket(listening)
    store.radio.serve_controller(server.source, server.sink)
    central = await open_bumble_central(f"tcp-client:127.0.0.1:{port}", mtu=185)
    try:
        gateway = BleGateway(
            store.addresses(1),
            store=STORE,
            client_factory=bumble_client_factory(central, timeout_s=BUMBLE_CONNECT_TIMEOUT_S),
            connect_policy=FAST,
            clock=store.clock,
        )
        async with gateway:
            await gateway.send(
                store.frame(1, build_image_update(PROMOTION_PLANES, model_id=MODEL.id))
            )
    finally:
        await central.close()
        await server.close()
        listening.close()
    assert store.label(1).label.shown == PROMOTION_PLANES
    delivery = gateway.deliveries[label_id_of(1)]
    assert _signed_reason(store, 1, delivery.signed_response) is ReasonCode.SUCCESS


async def test_labels_powered_on_ahead_answer_when_the_central_connects() -> None:
    # They advertise every 10 s on their own; the connection attempt wakes the one addressed,
    # so a connection never waits for that (it would time out first).
    store = make_bumble_store(2)
    await store.radio.start()
    store.connect_timeout_s = 3.0
    async with store.gateway(2) as gateway:
        for index in (1, 2, 1):
            await gateway.send(store.frame(index, Ping()))
    assert all(delivery.connections == 1 for delivery in gateway.deliveries.values())
    assert _signed_reason(store, 1, gateway.deliveries[label_id_of(1)].signed_response) is (
        ReasonCode.SUCCESS
    )


def test_the_driver_imports_bumble_only_when_its_backend_is_asked_for() -> None:
    imports = "gateways.ble.driver, gateways.ble.radio, firmware_sim.ble"
    assert libraries_loaded_by(imports, ("bumble",)) == []


async def test_a_scan_over_bumble_finds_the_labels_to_associate_and_not_the_others() -> None:
    store = make_bumble_store(3, associated=False)
    store.label(2).label.associate(key_of(label_id_of(2)), now=store.clock())
    await store.radio.start()

    found = await store.central.discover(1.0)

    assert [label.address for label in found] == [address_of(1), address_of(3)]
    assert [label.name for label in found] == [f"ESL {label_id_of(i)}" for i in (1, 3)]
    await associate(
        store, found[0].address, esl_address=EslAddress(esl_id=1), label_key=key_of(label_id_of(1))
    )
    # Associated now: it no longer offers itself to an access point.
    assert [label.address for label in await store.central.discover(1.0)] == [address_of(3)]


async def test_a_label_paired_with_its_printed_code_is_associated_over_an_authenticated_link() -> (
    None
):
    store = make_bumble_store(1, associated=False)
    store.central.add_pairing_code(store.radio.pairing_code(address_of(1)))
    key = key_of(label_id_of(1))
    await associate(store, address_of(1), esl_address=EslAddress(esl_id=1), label_key=key)
    assert store.label(1).esl_address == EslAddress(esl_id=1)
    assert store.radio.authenticated_pairings(address_of(1)) == 1


async def test_a_device_that_is_not_the_label_whose_code_was_read_gets_no_keys() -> None:
    """The installer read label 1's code, but another device answers at that address (a
    man in the middle, or the wrong label): its public key does not match the code, so
    pairing fails before anything is written. Just Works would have given it the keys."""
    store = make_bumble_store(2, associated=False)
    printed = store.radio.pairing_code(address_of(1))
    store.central.add_pairing_code(
        PairingCode(address=address_of(2), confirm=printed.confirm, random=printed.random)
    )
    with pytest.raises(AssociationFailedError, match="pairing failed"):
        await associate(
            store,
            address_of(2),
            esl_address=EslAddress(esl_id=2),
            label_key=key_of(label_id_of(2)),
        )
    impostor = store.label(2)
    assert (impostor.esl_address, impostor.ap_sync_key) == (None, None)
    assert impostor.label.state(now=store.clock()) is LabelState.UNASSOCIATED
    assert store.radio.authenticated_pairings(address_of(2)) == 0


async def test_a_device_that_will_not_pair_securely_is_refused_in_time() -> None:
    """A device at the coded label's address that offers only legacy pairing cannot give
    the code's proof: association fails within its connection time, it does not hang."""
    store = make_bumble_store(1, associated=False)
    store.connect_timeout_s = 1.0
    store.central.add_pairing_code(store.radio.pairing_code(address_of(1)))
    store.radio.pair_legacy_only(address_of(1))
    key = key_of(label_id_of(1))
    async with asyncio.timeout(30):
        with pytest.raises(AssociationFailedError, match="pairing failed"):
            await associate(store, address_of(1), esl_address=EslAddress(esl_id=1), label_key=key)
    assert store.label(1).ap_sync_key is None
    assert store.radio.authenticated_pairings(address_of(1)) == 0


async def test_a_label_at_a_public_address_is_found_and_paired_with_its_code() -> None:
    """A label with a public address (its code says so, `/P`): the scan reports it as
    bumble connects to it, and the code printed on it pairs it out of band."""
    simulated = make_store(1, associated=False)
    public = "00:1B:DC:00:00:01/P"
    simulated.air.labels[0].address = public
    radio = BumbleAir(simulated.air.labels, clock=simulated.clock)
    store = BumbleStore(
        clock=simulated.clock,
        air=simulated.air,
        radio=radio,
        central=BumbleCentral(radio.central_device()),
    )
    await radio.start()
    code = radio.pairing_code(public)
    assert code.address == public
    assert [label.address for label in await store.central.discover(1.0)] == [public]
    store.central.add_pairing_code(code)
    key = key_of(label_id_of(1))
    record = await associate(store, public, esl_address=EslAddress(esl_id=1), label_key=key)
    assert record.address == public
    assert store.radio.authenticated_pairings(public) == 1
