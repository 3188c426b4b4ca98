"""A ping never costs a price frame the label holds.

A label keeps a frame it received whole until a control point command carries it out; a
link that drops in between (the last chunk was in, the label went out of reach) leaves
the price there. The store gateway then tries the label with an unsigned Ping
(`esl gateway ble`'s reach-again), staff tools with Ping, LED Control or Refresh
Display. The label carries out the frame it holds on the next command and refuses one
that does not match it, so sent blindly each of these threw the price away and failed
("refused: INVALID_PARAMETERS") on a label that was right there.

Tests taking `make` run over the simulated backend and over bumble's host stack.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import timedelta

import pytest

from gateways.base import GatewayEvent, Uplink
from gateways.ble.control_point import BasicState, DisplayState, LedState
from gateways.ble.driver import BleGateway
from gateways.ble.errors import BleConnectError
from gateways.ble.radio import BleLabelRadio
from gateways.ble.store_radio import BleStoreRadio
from gateways.protocol import ReasonCode, build_image_update, decode_response
from tests.gateways.ble.ble_store import (
    FAST,
    MODEL,
    STORE,
    BleStore,
    key_of,
    label_id_of,
    make_bumble_store,
    make_store,
    reference_planes,
)
from tests.rendering.label_samples import PLAIN, PROMOTION

StoreMaker = Callable[..., BleStore]
OLD = reference_planes(PLAIN)
DUE = reference_planes(PROMOTION)
AFTER_REFRESH = timedelta(seconds=30)  # a 2.9" three-colour panel draws for 15 s


@pytest.fixture(params=["simulated", "bumble"])
def make(request: pytest.FixtureRequest) -> StoreMaker:
    return make_store if request.param == "simulated" else make_bumble_store


def _one_try_gateway(store: BleStore) -> BleGateway:
    # One session: the link dropped after the last chunk is not tried again.
    return BleGateway(
        store.addresses(1),
        store=STORE,
        client_factory=store.client_factory,
        connect_policy=FAST,
        session_attempts=1,
        clock=store.clock,
    )


async def _label_holding_the_due_price(store: BleStore, gateway: BleGateway) -> bytes:
    """Label 1 shows OLD and holds DUE's frame whole, not carried out; its bytes."""
    await gateway.send(store.frame(1, build_image_update(OLD, model_id=MODEL.id)))
    store.clock.advance(AFTER_REFRESH)  # its panel is done drawing OLD
    due = store.frame(1, build_image_update(DUE, model_id=MODEL.id))
    store.label(1).faults.drop_at_offset = len(due.payload)
    with pytest.raises(BleConnectError):
        await gateway.send(due)
    status = store.label(1).transfer_status
    assert status.length == status.confirmed == len(due.payload)
    assert store.label(1).label.shown == OLD
    return due.payload


def _answer_reason(payload: bytes) -> ReasonCode:
    return decode_response(payload, key=key_of(label_id_of(1))).reason


@pytest.mark.parametrize("tool", ["ping", "flash_led", "refresh_display"])
async def test_a_staff_command_to_a_label_holding_a_price_carries_the_price_out_first(
    make: StoreMaker, tool: str
) -> None:
    store = make(1)
    async with _one_try_gateway(store) as gateway:
        due = await _label_holding_the_due_price(store, gateway)
        answer = await getattr(gateway, tool)(label_id_of(1))
        events = [e async for e in _drained(gateway)]

    expected = {"ping": BasicState, "flash_led": LedState, "refresh_display": DisplayState}
    assert isinstance(answer, expected[tool])
    assert store.label(1).label.shown == DUE  # the price the controller sent
    # Its signed answer reaches the controller, which records the price as shown.
    (uplink,) = [e for e in events if isinstance(e, Uplink)][-1:]
    assert _answer_reason(uplink.payload) is ReasonCode.SUCCESS
    assert (
        decode_response(uplink.payload, key=key_of(label_id_of(1))).sequence
        == (store.sequences[label_id_of(1)])
    )
    assert gateway.deliveries[label_id_of(1)].signed_response == uplink.payload
    assert store.label(1).transfer_status.length == 0  # nothing left waiting
    assert due


@pytest.mark.parametrize("tool", ["ping", "flash_led", "refresh_display"])
async def test_the_store_radio_hands_back_the_answer_of_the_price_carried_out(
    make: StoreMaker, tool: str
) -> None:
    # `esl gateway ble` reads no `events()`: the held price's signed answer comes back
    # with the command's, or nobody would tell the controller what the label shows.
    store = make(1)
    radio = BleLabelRadio(
        store.addresses(1), client_factory=store.client_factory, connect_policy=FAST,
        clock=store.clock,
    )  # fmt: skip
    old = store.frame(1, build_image_update(OLD, model_id=MODEL.id))
    async with radio:
        await radio.exchange(label_id_of(1), old.payload)
        store.clock.advance(AFTER_REFRESH)
        due = store.frame(1, build_image_update(DUE, model_id=MODEL.id))
        store.label(1).faults.drop_at_offset = len(due.payload)
        store.label(1).faults.refuse_after_drop = 1000  # out of reach, the price whole
        with pytest.raises(BleConnectError):
            await radio.exchange(label_id_of(1), due.payload)
        store.label(1).faults.refuse_connections = 0  # back in reach
        answer = await getattr(radio, tool)(label_id_of(1))

    assert store.label(1).label.shown == DUE
    assert answer.signed_response is not None
    assert _answer_reason(answer.signed_response) is ReasonCode.SUCCESS
    signed = decode_response(answer.signed_response, key=key_of(label_id_of(1)))
    assert signed.sequence == store.sequences[label_id_of(1)]


async def test_the_store_gateway_finds_the_label_back_and_its_price_goes_on(
    make: StoreMaker,
) -> None:
    # `esl gateway ble` (started again since, so it does not know the frame): the frame's
    # exchange failed and was reported; every --health-every seconds the gateway tries
    # the label with an unsigned Ping, and one that answers is reported reachable.
    store = make(1)
    async with _one_try_gateway(store) as gateway:
        due = await _label_holding_the_due_price(store, gateway)
    radio = BleStoreRadio(
        BleLabelRadio(store.addresses(1), client_factory=store.client_factory, clock=store.clock)
    )
    await radio.open()
    try:
        await radio.reach(label_id_of(1))  # within reach: the controller is told so
        status = store.label(1).transfer_status
        assert status.length == status.confirmed == len(due)  # the price still there
        # The controller sends the frame again: the label carries out what it holds.
        again = await radio.exchange(label_id_of(1), due)
        delivery = radio.radio.last_delivery(label_id_of(1))
    finally:
        await radio.close()
    assert store.label(1).label.shown == DUE
    assert _answer_reason(again) is ReasonCode.SUCCESS
    assert delivery is not None
    assert [t.bytes_sent for t in delivery.transfers] == [0]  # nothing sent twice


async def _drained(gateway: BleGateway) -> AsyncIterator[GatewayEvent]:
    """The events queued so far (the gateway is stopped after, so the stream ends)."""
    await gateway.stop()
    async for event in gateway.events():
        yield event
