"""What goes wrong on the air reaches the pipeline as a clear reason, and nothing else.

Tests taking `make` run twice: over the simulated backend and over bumble's host stack
(`make_bumble_store`), where the refusals are real ATT error responses and
notifications."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest
from bleak import BleakClient

from gateways.base import GatewayEvent, Uplink
from gateways.ble.control_point import (
    DisplayImage,
    DisplayState,
    EslErrorResponse,
    decode_response,
    encode_command,
)
from gateways.ble.driver import BleGateway
from gateways.ble.errors import BleConnectError, ControlPointRefusedError, TransferFailedError
from gateways.ble.esl_service import (
    CONTROL_POINT_UUID,
    FRAME_DATA_UUID,
    FRAME_RESPONSE_UUID,
    FRAME_TRANSFER_STATUS_UUID,
    TransferAttError,
)
from gateways.ble.frame_transfer import MAX_TRANSFER_BYTES, encode_begin, encode_chunk
from gateways.protocol import ImageUpdate, ReasonCode, build_image_update
from gateways.protocol import decode_response as decode_label_response
from tests.gateways.ble.ble_store import (
    MODEL,
    BleStore,
    address_of,
    key_of,
    label_id_of,
    make_bumble_store,
    make_store,
    reference_planes,
)
from tests.rendering.label_samples import PROMOTION

PLANES = reference_planes(PROMOTION)
ESL_ERROR_CODES = [code for code in ReasonCode if 0x01 <= code <= 0x0C]
StoreMaker = Callable[..., BleStore]
# How long a raw client waits for the label's notified answer to a command it wrote.
_ANSWER_TIMEOUT_S = 5.0


@pytest.fixture(params=["simulated", "bumble"])
def make(request: pytest.FixtureRequest) -> StoreMaker:
    return make_store if request.param == "simulated" else make_bumble_store


def _update() -> ImageUpdate:
    return build_image_update(PLANES, model_id=MODEL.id)


async def test_a_dropped_connection_resumes_where_the_label_stopped(make: StoreMaker) -> None:
    store = make(1)
    frame = store.frame(1, _update())
    store.label(1).faults.drop_at_offset = len(frame.payload) // 2
    async with store.gateway(1) as gateway:
        await gateway.send(frame)

    delivery = gateway.deliveries[label_id_of(1)]
    assert delivery.connections == 2
    first, second = delivery.transfers
    assert first.started_at == 0
    assert second.started_at >= len(frame.payload) // 2
    assert first.bytes_sent + second.bytes_sent == len(frame.payload)
    assert delivery.resumed
    assert store.label(1).label.shown == PLANES
    assert not store.label(1).connected


async def test_a_label_that_drops_new_links_is_tried_again_and_one_that_always_does_fails(
    make: StoreMaker,
) -> None:
    store = make(2)
    store.label(1).faults.refuse_connections = 2
    store.label(2).faults.refuse_connections = 100
    async with store.gateway(2) as gateway:
        await gateway.send(store.frame(1, _update()))
        with pytest.raises(BleConnectError) as caught:
            await gateway.send(store.frame(2, _update()))
    assert store.label(1).label.shown == PLANES
    assert caught.value.fields["address"] == address_of(2)
    assert store.label(2).label.shown is None


async def test_a_chunk_damaged_on_the_air_is_sent_again_not_the_whole_frame(
    make: StoreMaker,
) -> None:
    store = make(1)
    store.label(1).faults.corrupt_chunks = 2
    frame = store.frame(1, _update())
    async with store.gateway(1) as gateway:
        await gateway.send(frame)
    (transfer,) = gateway.deliveries[label_id_of(1)].transfers
    assert len(frame.payload) < transfer.bytes_sent <= len(frame.payload) + 2 * 236
    assert store.label(1).label.shown == PLANES


async def test_a_transfer_another_device_began_again_fails_the_send_instead_of_looping() -> None:
    # Frame Transfer needs no pairing (frames are signed end to end), so any device in
    # range may write a begin to a label mid-transfer: a second access point, a phone.
    # The driver must not resume into that transfer for ever, holding the label's lock
    # and one of the adapter's connections. (The simulated backend only: over bumble a
    # connected label stops advertising, so no second device reaches it.)
    store = make_store(1)
    frame = store.frame(1, _update())
    label = store.label(1)
    async with store.gateway(1) as gateway:
        sending = asyncio.ensure_future(gateway.send(frame))
        while label.transfer_status.confirmed == 0:  # the driver's first chunk is in
            await asyncio.sleep(0)
        other = store.client_factory(address_of(1))
        await other.connect()
        await other.write_gatt_char(
            FRAME_TRANSFER_STATUS_UUID, encode_begin(b"\x00" * 100), response=True
        )
        done, _ = await asyncio.wait({sending}, timeout=5.0)
        await other.disconnect()
        if not done:
            sending.cancel()
    assert done, "the send still resumes into the other device's transfer after 5 s"
    # Failed with its reason: the controller's retry sends the signed frame again.
    error = sending.exception()
    assert isinstance(error, TransferFailedError)
    assert "another transfer began" in str(error)
    assert not error.final


async def test_chunks_refused_after_every_retry_may_pass_a_frame_too_large_never(
    make: StoreMaker,
) -> None:
    # `final`: sending the same frame again cannot succeed. Noise on every chunk may
    # clear (the controller's retries and back-off, then parking offline, handle a label
    # that keeps failing); a label with no room for the frame never takes it.
    store = make(2)
    store.label(1).faults.corrupt_chunks = 100
    async with store.gateway(2) as gateway:
        with pytest.raises(TransferFailedError) as noisy:
            await gateway.send(store.frame(1, _update()))
        with pytest.raises(TransferFailedError) as too_large:
            await gateway.deliver(label_id_of(2), bytes(MAX_TRANSFER_BYTES + 1))
    assert noisy.value.refusal is TransferAttError.CHUNK_CRC
    assert not noisy.value.final
    assert too_large.value.refusal is TransferAttError.TOO_LARGE
    assert too_large.value.final
    assert "too large" in str(too_large.value)


@pytest.mark.parametrize("code", ESL_ERROR_CODES, ids=[code.name for code in ESL_ERROR_CODES])
async def test_every_esl_error_code_reaches_the_pipeline_as_the_signed_reason(
    make: StoreMaker, code: ReasonCode
) -> None:
    store = make(1)
    store.label(1).faults.refuse_next = code
    async with store.gateway(1) as gateway:
        await gateway.send(store.frame(1, _update()))
        events = [event async for event in _drain(gateway)]

    uplink = events[-1]
    assert isinstance(uplink, Uplink)
    response = decode_label_response(uplink.payload, key=key_of(label_id_of(1)))
    assert (response.reason, response.sequence) == (code, 1)
    assert gateway.deliveries[label_id_of(1)].response == EslErrorResponse(code)
    assert store.label(1).label.shown is None


async def _drain(gateway: BleGateway) -> AsyncIterator[GatewayEvent]:
    await gateway.stop()
    async for event in gateway.events():
        yield event


async def test_a_frame_with_a_bad_mac_is_refused_with_a_signed_reason(make: StoreMaker) -> None:
    store = make(1)
    frame = store.frame(1, _update(), key=bytes(32))
    async with store.gateway(1) as gateway:
        await gateway.send(frame)
    assert gateway.deliveries[label_id_of(1)].response == EslErrorResponse(ReasonCode.BAD_MAC)
    signed = gateway.deliveries[label_id_of(1)].signed_response
    assert signed is not None
    assert decode_label_response(signed, key=key_of(label_id_of(1))).reason is ReasonCode.BAD_MAC
    assert store.label(1).label.shown is None


async def test_an_unassociated_label_refuses_in_the_wrong_state_without_a_signature(
    make: StoreMaker,
) -> None:
    store = make(1, associated=False)
    async with store.gateway(1) as gateway:
        with pytest.raises(ControlPointRefusedError) as caught:
            await gateway.send(store.frame(1, _update()))
    assert caught.value.reason is ReasonCode.INVALID_STATE
    assert gateway.deliveries[label_id_of(1)].signed_response is None


class _RawLink:
    """A bare bleak client on the label, for what the driver would never send."""

    def __init__(self, client: BleakClient) -> None:
        self.client = client
        self.control: list[bytes] = []
        self.signed: list[bytes] = []
        self._answers: asyncio.Queue[None] = asyncio.Queue()

    @classmethod
    async def to_first_label(cls, store: BleStore) -> _RawLink:
        """Connected to label 1 and subscribed to its answers."""
        link = cls(store.client_factory(address_of(1)))
        await link.start()
        return link

    def _on_control(self, _sender: object, value: bytearray) -> None:
        self.control.append(bytes(value))
        self._answers.put_nowait(None)

    async def start(self) -> None:
        await self.client.connect()
        await self.client.start_notify(CONTROL_POINT_UUID, self._on_control)
        await self.client.start_notify(
            FRAME_RESPONSE_UUID, lambda _c, d: self.signed.append(bytes(d))
        )

    async def transfer(self, frame: bytes) -> None:
        await self.client.write_gatt_char(
            FRAME_TRANSFER_STATUS_UUID, encode_begin(frame), response=True
        )
        for offset in range(0, len(frame), 200):
            chunk = encode_chunk(offset, frame[offset : offset + 200])
            await self.client.write_gatt_char(FRAME_DATA_UUID, chunk, response=True)

    async def command(self, value: bytes) -> None:
        """Write a control point command and wait for its notified answer (a label
        notifies a signed response first, so that is in too)."""
        await self.client.write_gatt_char(CONTROL_POINT_UUID, value, response=True)
        await asyncio.wait_for(self._answers.get(), _ANSWER_TIMEOUT_S)

    async def close(self) -> None:
        await self.client.disconnect()


async def test_display_image_without_a_transferred_frame_is_refused_as_wrong_state(
    make: StoreMaker,
) -> None:
    store = make(1)
    link = await _RawLink.to_first_label(store)
    await link.command(encode_command(DisplayImage(esl_id=1, image=0)))
    assert [decode_response(bytes(value)) for value in link.control] == [
        EslErrorResponse(ReasonCode.INVALID_STATE)
    ]
    assert link.signed == []


async def test_a_control_point_command_that_contradicts_the_signed_frame_is_refused(
    make: StoreMaker,
) -> None:
    store = make(1)
    frame = store.frame(1, _update()).payload
    link = await _RawLink.to_first_label(store)
    await link.transfer(frame)
    # The frame says image 0; an unauthenticated command must not put it in slot 3.
    await link.command(encode_command(DisplayImage(esl_id=1, image=3)))

    assert [decode_response(bytes(value)) for value in link.control] == [
        EslErrorResponse(ReasonCode.INVALID_PARAMETERS)
    ]
    (signed,) = link.signed
    assert decode_label_response(bytes(signed), key=key_of(label_id_of(1))).reason is (
        ReasonCode.INVALID_PARAMETERS
    )
    assert store.label(1).label.pages[3] is None


async def test_an_unknown_opcode_and_a_command_for_another_esl_are_refused(
    make: StoreMaker,
) -> None:
    store = make(1)
    link = await _RawLink.to_first_label(store)
    await link.command(b"\x05\x01")
    await link.command(encode_command(DisplayImage(esl_id=9, image=0)))
    assert [decode_response(bytes(value)) for value in link.control] == [
        EslErrorResponse(ReasonCode.INVALID_OPCODE),
        EslErrorResponse(ReasonCode.INVALID_PARAMETERS),
    ]


async def test_a_transferred_frame_then_the_right_command_is_shown(make: StoreMaker) -> None:
    store = make(1)
    frame = store.frame(1, _update()).payload
    link = await _RawLink.to_first_label(store)
    await link.transfer(frame)
    await link.command(encode_command(DisplayImage(esl_id=1, image=0)))
    assert [decode_response(bytes(value)) for value in link.control] == [DisplayState(0, 0)]
    assert store.label(1).label.shown == PLANES
