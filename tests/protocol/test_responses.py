"""Label responses: authenticated like frames, so a rogue client cannot fake an ack."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateways.protocol import (
    BasicStateFlag,
    FrameKind,
    FrameRejectedError,
    LabelFrame,
    LabelResponse,
    LabelState,
    Opcode,
    Ping,
    ReasonCode,
    decode_response,
    encode_frame,
    encode_response,
    peek_header,
)
from tests.strategies import content_hashes, label_ids, label_keys, wire_instants

KEY = bytes(range(32))

label_responses = st.builds(
    LabelResponse,
    label_id=label_ids,
    sequence=st.integers(0, 0xFFFF_FFFF),
    reason=st.sampled_from(ReasonCode),
    state=st.sampled_from(LabelState),
    flags=st.integers(0, 31).map(BasicStateFlag),
    displayed_hash=st.none() | content_hashes,
    page=st.integers(0, 255),
    battery_mv=st.integers(0, 0xFFFF),
    rssi_dbm=st.integers(-128, 127),
    lqi=st.integers(0, 255),
    temperature_tenths_c=st.integers(-400, 850),
    firmware=st.tuples(*[st.integers(0, 255)] * 3).map(lambda v: ".".join(map(str, v))),
    label_time=wire_instants,
    opcode=st.integers(0, 255),
    kind=st.sampled_from([FrameKind.RESPONSE, FrameKind.CHECK_IN]),
)


def _ack(**changes: object) -> LabelResponse:
    fields: dict[str, object] = {
        "label_id": "A1",
        "sequence": 41,
        "reason": ReasonCode.SUCCESS,
        "state": LabelState.SYNCHRONIZED,
        "flags": BasicStateFlag.SYNCHRONIZED,
        "displayed_hash": b"\x11" * 16,
        "page": 0,
        "battery_mv": 2950,
        "rssi_dbm": -61,
        "lqi": 165,
        "temperature_tenths_c": 215,
        "firmware": "1.0.0",
        "label_time": datetime(2026, 11, 23, 18, 0, tzinfo=UTC),
        "opcode": Opcode.IMAGE_UPDATE,
    }
    fields.update(changes)
    return LabelResponse(**fields)  # type: ignore[arg-type]


@settings(max_examples=150)
@given(response=label_responses, key=label_keys)
def test_every_response_decodes_to_what_was_encoded(response: LabelResponse, key: bytes) -> None:
    assert decode_response(encode_response(response, key=key), key=key) == response


@settings(max_examples=150)
@given(response=label_responses, key=label_keys, data=st.data())
def test_any_flipped_byte_in_a_response_is_detected(
    response: LabelResponse, key: bytes, data: st.DataObject
) -> None:
    encoded = bytearray(encode_response(response, key=key))
    position = data.draw(st.integers(0, len(encoded) - 1))
    encoded[position] ^= data.draw(st.integers(1, 255))
    with pytest.raises(FrameRejectedError):
        decode_response(bytes(encoded), key=key)


def test_an_ack_forged_without_the_label_key_is_rejected_as_bad_mac() -> None:
    rogue_key = bytes(32)  # a rogue MQTT client knows everything but the key
    forged = encode_response(_ack(), key=rogue_key)
    with pytest.raises(FrameRejectedError) as caught:
        decode_response(forged, key=KEY)
    assert caught.value.reason is ReasonCode.BAD_MAC
    assert (caught.value.label_id, caught.value.sequence) == ("A1", 41)


def test_a_nack_turned_into_an_ack_by_editing_the_reason_byte_is_rejected() -> None:
    nack = bytearray(encode_response(_ack(reason=ReasonCode.BAD_MAC), key=KEY))
    reason_offset = peek_header(bytes(nack)).size + 1
    assert nack[reason_offset] == ReasonCode.BAD_MAC
    nack[reason_offset] = ReasonCode.SUCCESS
    with pytest.raises(FrameRejectedError) as caught:
        decode_response(bytes(nack), key=KEY)
    assert caught.value.reason is ReasonCode.BAD_MAC


def test_a_command_frame_is_never_accepted_as_a_response() -> None:
    command = encode_frame(LabelFrame(label_id="A1", sequence=41, command=Ping()), key=KEY)
    with pytest.raises(FrameRejectedError) as caught:
        decode_response(command, key=KEY)
    assert caught.value.reason is ReasonCode.MALFORMED_FRAME


def test_a_response_carries_the_sequence_it_answers_and_the_label_health() -> None:
    decoded = decode_response(encode_response(_ack(), key=KEY), key=KEY)
    assert decoded.acked
    assert (decoded.sequence, decoded.battery_mv, decoded.rssi_dbm, decoded.lqi) == (
        41,
        2950,
        -61,
        165,
    )
    assert decoded.temperature_tenths_c == 215
    assert decoded.firmware == "1.0.0"
    assert not decode_response(
        encode_response(_ack(reason=ReasonCode.BUSY), key=KEY), key=KEY
    ).acked
