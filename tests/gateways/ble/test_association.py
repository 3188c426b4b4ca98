"""Finding unassociated labels and configuring them, through bleak and the simulated air."""

from __future__ import annotations

from datetime import timedelta

import pytest

from gateways.ble.control_point import EslAddress
from gateways.ble.errors import AssociationFailedError, BleConnectError, ControlPointRefusedError
from gateways.ble.esl_service import DisplayType
from gateways.ble.inventory import (
    DisplayInformation,
    LedInformation,
    esl_key_material,
)
from gateways.protocol import LabelState, Ping, ReasonCode, Unassociate, decode_response
from rendering.display_models import get_display_model
from tests.gateways.ble.ble_store import (
    FAST,
    BleStore,
    address_of,
    associate,
    key_of,
    label_id_of,
    make_store,
)


async def test_a_scan_finds_only_the_labels_that_still_need_an_access_point() -> None:
    store = make_store(4, associated=False)
    store.label(2).label.associate(key_of(label_id_of(2)), now=store.clock())

    found = await store.air.discover(1.0)

    assert sorted(label.address for label in found) == [address_of(i) for i in (1, 3, 4)]
    assert all(label.name and label.rssi_dbm is not None for label in found)


async def test_association_configures_the_label_and_records_what_it_can_do() -> None:
    store = make_store(1, associated=False)
    key = key_of(label_id_of(1))

    record = await associate(
        store, address_of(1), esl_address=EslAddress(esl_id=7, group=3), label_key=key
    )

    model = get_display_model("2.9-bwr")
    assert record.esl_address == EslAddress(7, 3)
    assert record.displays == (
        DisplayInformation(model.width, model.height, DisplayType.RED_BLACK_WHITE),
    )
    assert record.image_slots == 4
    assert record.leds == (LedInformation(srgb=True, colour_bits=0b11),)
    assert record.associated_at == store.clock()
    label = store.label(1)
    assert label.esl_address == EslAddress(7, 3)
    assert (label.ap_sync_key, label.response_key) == esl_key_material(key)
    assert label.label.state(now=store.clock()) is LabelState.CONFIGURED
    assert await store.air.discover() == []


async def _associate_and_ping(store: BleStore) -> None:
    """Associate label 1 with its key; a signed Ping is then answered, signed with it."""
    key = key_of(label_id_of(1))
    await associate(store, address_of(1), esl_address=EslAddress(esl_id=1), label_key=key)
    async with store.gateway(1) as gateway:
        await gateway.send(store.frame(1, Ping()))
    signed = gateway.deliveries[label_id_of(1)].signed_response
    assert signed is not None
    assert decode_response(signed, key=key).acked


async def test_an_associated_label_answers_signed_frames_with_its_new_key() -> None:
    store = make_store(1, associated=False)
    await _associate_and_ping(store)


async def test_a_label_already_associated_refuses_to_be_reconfigured() -> None:
    store = make_store(1, associated=True)
    with pytest.raises(AssociationFailedError) as caught:
        await associate(store, address_of(1), esl_address=EslAddress(esl_id=9), label_key=bytes(32))
    assert caught.value.fields["address"] == address_of(1)
    assert store.label(1).esl_address == EslAddress(1)


async def test_a_label_that_forgot_its_key_says_so_and_can_be_associated_again() -> None:
    # Two hours out of sync its firmware deletes its key (ESL Service timeouts): it says
    # Invalid State (not associated), not Insufficient Battery with a full battery, and it
    # advertises and takes a new association like a label never associated.
    store = make_store(1, associated=True)
    store.clock.advance(timedelta(hours=2, minutes=1))
    assert [found.address for found in await store.air.discover()] == [address_of(1)]
    async with store.gateway(1) as gateway:
        with pytest.raises(ControlPointRefusedError) as caught:
            await gateway.send(store.frame(1, Ping()))
    assert caught.value.reason is ReasonCode.INVALID_STATE
    await _associate_and_ping(store)


async def test_a_label_out_of_range_fails_after_every_attempt() -> None:
    store = make_store(1, associated=False)
    with pytest.raises(BleConnectError) as caught:
        await associate(
            store, "C0:FF:EE:99:99:99", esl_address=EslAddress(esl_id=1), label_key=bytes(32)
        )
    assert caught.value.fields["attempts"] == FAST.attempts


def test_a_simulated_store_spreads_labels_over_esl_ids_and_groups() -> None:
    from firmware_sim.ble import ble_store
    from firmware_sim.hardware import hardware_for
    from firmware_sim.label import SimulatedLabel

    clock = make_store(0).clock
    hardware = hardware_for(get_display_model("2.9-bw"))
    labels = [
        SimulatedLabel(label_id=f"L{i}", hardware=hardware, key=bytes(32), now=clock())
        for i in range(300)
    ]
    air, addresses = ble_store(labels, keys={f"L{i}": bytes(32) for i in range(300)}, clock=clock)

    assert len({a.address for a in addresses}) == 300
    assert [(a.label_id, a.esl_id) for a in addresses[254:256]] == [("L254", 254), ("L255", 0)]
    esl_addresses = [air.label(a.address).esl_address for a in addresses]
    assert esl_addresses[255] == EslAddress(esl_id=0, group=1)
    assert len(set(esl_addresses)) == 300


async def test_after_unassociate_the_label_keeps_no_key_material_and_takes_a_new_key() -> None:
    # docs/ble.md: on Unassociate "the label deletes its key and ESL address"; both key
    # materials are derived from the label key (HKDF), so keeping them keeps the secret.
    # Found by a hunter (moved from /tmp/rev-ble).
    store = make_store(1, associated=False)
    old_key = key_of(label_id_of(1))
    await associate(store, address_of(1), esl_address=EslAddress(esl_id=1), label_key=old_key)
    label = store.label(1)
    assert label.ap_sync_key is not None
    async with store.gateway(1) as gateway:
        await gateway.send(store.frame(1, Unassociate()))

    assert label.esl_address is None
    assert not label.label.associated
    assert (label.ap_sync_key, label.response_key, label.absolute_time_ms) == (None, None, None)
    new_key = bytes(range(32))
    await associate(store, address_of(1), esl_address=EslAddress(esl_id=2), label_key=new_key)
    assert (label.ap_sync_key, label.response_key) == esl_key_material(new_key)


async def test_a_label_two_hours_out_of_sync_forgets_as_much_as_one_unassociated() -> None:
    store = make_store(1, associated=False)
    key = key_of(label_id_of(1))
    await associate(store, address_of(1), esl_address=EslAddress(esl_id=1), label_key=key)
    store.clock.advance(timedelta(hours=2, minutes=1))

    async with store.gateway(1) as gateway:
        with pytest.raises(ControlPointRefusedError) as caught:
            await gateway.send(store.frame(1, Ping()))
    assert caught.value.reason is ReasonCode.INVALID_STATE
    label = store.label(1)
    assert not label.label.associated
    assert label.esl_address is None
    assert (label.ap_sync_key, label.response_key, label.absolute_time_ms) == (None, None, None)
