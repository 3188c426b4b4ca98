"""The ESL Control Point and Frame Transfer bytes: what the spec says, both directions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateways.ble.control_point import (
    BasicState,
    DisplayImage,
    DisplayState,
    DisplayTimedImage,
    EslAddress,
    EslErrorResponse,
    LedControl,
    LedState,
    Ping,
    RefreshDisplay,
    Unassociate,
    UpdateComplete,
    absolute_time_of,
    decode_command,
    decode_response,
    encode_command,
    encode_response,
    instant_of_absolute_time,
    message_length,
)
from gateways.ble.errors import MalformedGattValueError
from gateways.ble.esl_service import (
    CONTROL_POINT_UUID,
    ESL_SERVICE_UUID,
    BasicStateFlag,
    ReasonCode,
)
from gateways.ble.frame_transfer import (
    TransferStatus,
    chunk_size_for_mtu,
    decode_chunk,
    encode_chunk,
)
from gateways.ble.inventory import parse_display_information
from tests.strategies import ble_control_point_commands, ble_control_point_responses


def test_sig_uuids_sit_on_the_bluetooth_base_uuid() -> None:
    assert ESL_SERVICE_UUID == "00001857-0000-1000-8000-00805f9b34fb"
    assert CONTROL_POINT_UUID == "00002bfe-0000-1000-8000-00805f9b34fb"


@settings(max_examples=150)
@given(ble_control_point_commands())
def test_every_command_round_trips_and_has_the_length_its_opcode_says(command: object) -> None:
    value = encode_command(command)
    assert len(value) == message_length(value[0])
    assert decode_command(value) == command


@settings(max_examples=100)
@given(ble_control_point_responses())
def test_every_response_round_trips(response: object) -> None:
    value = encode_response(response)
    assert len(value) == message_length(value[0])
    assert decode_response(value) == response


def test_commands_have_the_spec_bytes() -> None:
    assert encode_command(Ping(7)) == b"\x00\x07"
    assert encode_command(Unassociate(7)) == b"\x01\x07"
    assert encode_command(UpdateComplete(7)) == b"\x04\x07"
    assert encode_command(RefreshDisplay(7)) == b"\x11\x07\x00"
    assert encode_command(DisplayImage(7, image=2)) == b"\x20\x07\x00\x02"
    timed = DisplayTimedImage(7, image=1, absolute_time=0x01020304)
    assert encode_command(timed) == b"\x60\x07\x00\x01\x04\x03\x02\x01"
    assert len(encode_command(LedControl(7))) == 13


def test_responses_are_read_into_our_values() -> None:
    assert decode_response(b"\x00\x05") == EslErrorResponse(ReasonCode.IMAGE_NOT_AVAILABLE)
    assert decode_response(b"\x01\x00") == LedState(0)
    assert decode_response(b"\x10\x12\x00") == BasicState(
        BasicStateFlag.SYNCHRONIZED | BasicStateFlag.PENDING_DISPLAY_UPDATE
    )
    assert decode_response(b"\x11\x00\x03") == DisplayState(display=0, image=3)


@pytest.mark.parametrize(
    "value",
    [b"", b"\x10\x00", b"\x11\x00", b"\x00\x42", b"\x0e\x00", b"\x01\x00\x00"],
    ids=["empty", "short-basic", "short-display", "unknown-error", "sensor", "long-led"],
)
def test_a_malformed_response_is_one_clear_error(value: bytes) -> None:
    with pytest.raises(MalformedGattValueError):
        decode_response(value)


def test_an_unknown_opcode_is_named_as_such() -> None:
    with pytest.raises(MalformedGattValueError) as caught:
        decode_command(b"\x05\x01")
    assert caught.value.fields["what"] == "opcode"


def test_esl_address_packs_id_and_group_little_endian() -> None:
    assert EslAddress(esl_id=0x12, group=0x05).to_bytes() == b"\x12\x05"
    assert EslAddress.from_bytes(b"\x12\x05") == EslAddress(0x12, 5)
    with pytest.raises(ValueError, match=r"outside 0\.\.254"):
        EslAddress(esl_id=0xFF)
    with pytest.raises(MalformedGattValueError):
        EslAddress.from_bytes(b"\x01\x80")


def test_absolute_time_wraps_and_reads_back_as_the_nearest_instant() -> None:
    at = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
    value = absolute_time_of(at)
    assert 0 <= value < 1 << 32
    assert instant_of_absolute_time(value, now=at - timedelta(days=3)) == at
    assert instant_of_absolute_time(value, now=at + timedelta(days=3)) == at


def test_a_chunk_with_a_flipped_bit_is_not_accepted() -> None:
    value = bytearray(encode_chunk(236, b"frame bytes"))
    assert decode_chunk(bytes(value)) is not None
    value[-1] ^= 0x01
    assert decode_chunk(bytes(value)) is None


def test_chunks_fill_one_att_write_at_the_negotiated_mtu() -> None:
    assert chunk_size_for_mtu(247) + 8 + 3 == 247
    assert chunk_size_for_mtu(23) == 12
    assert chunk_size_for_mtu(517) == 512 - 8  # an attribute value is at most 512 bytes


def test_transfer_status_refuses_more_confirmed_than_sent() -> None:
    status = TransferStatus(length=10, crc=1, confirmed=4)
    assert TransferStatus.from_bytes(status.to_bytes()) == status
    with pytest.raises(MalformedGattValueError):
        TransferStatus.from_bytes(TransferStatus(length=1, crc=1, confirmed=4).to_bytes())


@given(st.binary(max_size=23))
def test_display_information_is_whole_five_byte_entries(value: bytes) -> None:
    if value and len(value) % 5 == 0:
        assert len(parse_display_information(value)) == len(value) // 5
    else:
        with pytest.raises(MalformedGattValueError):
            parse_display_information(value)
