"""`BleLabelRadio`: what a store gateway process gets from the BLE driver, over bumble."""

from __future__ import annotations

import asyncio

import pytest

from gateways.ble.control_point import LedState
from gateways.ble.driver import CommandAnswer
from gateways.ble.errors import ControlPointRefusedError, UnknownLabelError
from gateways.ble.esl_service import BasicStateFlag
from gateways.ble.inventory import BleLabelAddress
from gateways.ble.radio import BleLabelRadio
from gateways.errors import GatewayNotStartedError
from gateways.protocol import Ping, ReasonCode, build_image_update, decode_response
from tests.gateways.ble.ble_store import (
    FAST,
    MODEL,
    BumbleStore,
    address_of,
    key_of,
    label_id_of,
    make_bumble_store,
    reference_planes,
)
from tests.rendering.label_samples import PLAIN

PLANES = reference_planes(PLAIN)


def _radio(store: BumbleStore, count: int) -> BleLabelRadio:
    return BleLabelRadio(
        store.addresses(count),
        client_factory=store.client_factory,
        connect_policy=FAST,
        clock=store.clock,
    )


async def test_a_frame_in_gives_the_labels_own_signed_answer_out() -> None:
    store = make_bumble_store(3)
    frames = {i: store.frame(i, build_image_update(PLANES, model_id=MODEL.id)) for i in (1, 2, 3)}
    async with _radio(store, 3) as radio:
        answers = await asyncio.gather(
            *(radio.exchange(label_id_of(i), frames[i].payload) for i in (1, 2, 3))
        )

    for index, answer in zip((1, 2, 3), answers, strict=True):
        response = decode_response(answer, key=key_of(label_id_of(index)))
        assert (response.label_id, response.sequence, response.reason) == (
            label_id_of(index),
            1,
            ReasonCode.SUCCESS,
        )
        assert store.label(index).label.shown == PLANES


async def test_a_refusal_the_label_signs_is_an_answer_not_an_error() -> None:
    store = make_bumble_store(1)
    forged = store.frame(1, Ping(), key=bytes(32))
    async with _radio(store, 1) as radio:
        answer = await radio.exchange(label_id_of(1), forged.payload)
    assert decode_response(answer, key=key_of(label_id_of(1))).reason is ReasonCode.BAD_MAC


async def test_what_the_process_cannot_fix_by_retrying_is_a_typed_error() -> None:
    store = make_bumble_store(1, associated=False)
    radio = _radio(store, 1)
    with pytest.raises(GatewayNotStartedError):
        await radio.exchange(label_id_of(1), store.frame(1, Ping()).payload)
    async with radio:
        with pytest.raises(ControlPointRefusedError) as refused:
            await radio.exchange(label_id_of(1), store.frame(1, Ping()).payload)
        with pytest.raises(UnknownLabelError):
            await radio.exchange("S001-nobody", b"\x00")
    assert refused.value.reason is ReasonCode.INVALID_STATE
    assert refused.value.fields["address"] == address_of(1)


async def test_a_label_added_later_is_reachable_and_staff_tools_work() -> None:
    store = make_bumble_store(2)
    async with _radio(store, 1) as radio:
        radio.add_label(BleLabelAddress(label_id_of(2), address=address_of(2), esl_id=2))
        answer = await radio.exchange(label_id_of(2), store.frame(2, Ping()).payload)
        led = await radio.flash_led(label_id_of(2), duration_s=3)
        state = await radio.ping(label_id_of(2))
        # Nothing was ever shown on label 2: there is nothing to redraw.
        with pytest.raises(ControlPointRefusedError) as nothing_shown:
            await radio.refresh_display(label_id_of(2))
    assert decode_response(answer, key=key_of(label_id_of(2))).acked
    assert led == CommandAnswer(LedState(0))  # no held frame carried out on the way
    assert BasicStateFlag.SYNCHRONIZED | BasicStateFlag.ACTIVE_LED in state.response.flags
    assert state.signed_response is None
    assert nothing_shown.value.reason is ReasonCode.IMAGE_NOT_AVAILABLE
    delivery = radio.last_delivery(label_id_of(2))
    assert delivery is not None
    assert delivery.connections == 1
