"""Command frames: they round-trip, and any change to one is detected and named."""

from __future__ import annotations

import struct
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateways.protocol import (
    MAC_SIZE,
    MAX_FRAME_BYTES,
    FlashLed,
    FrameKind,
    FrameRejectedError,
    ImageEncoding,
    ImageUpdate,
    LabelFrame,
    LedColour,
    LedPattern,
    Opcode,
    Ping,
    ReasonCode,
    RefreshDisplay,
    SwitchPage,
    decode_frame,
    encode_frame,
    peek_command,
    peek_header,
)
from gateways.protocol._wire import compute_mac
from tests.strategies import label_frames, label_keys

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))


def _image_frame(*, image: bytes = b"\x01" * 700, chunk_size: int = 236) -> bytes:
    update = ImageUpdate(
        model_id="2.9-bwr",
        encoding=ImageEncoding.FULL,
        content_hash=b"\x5a" * 16,
        image=image,
    )
    frame = LabelFrame(label_id="A1", sequence=7, command=update)
    return encode_frame(frame, key=KEY, chunk_size=chunk_size)


def _reason(data: bytes, *, key: bytes = KEY, label_id: str = "A1") -> ReasonCode:
    with pytest.raises(FrameRejectedError) as caught:
        decode_frame(data, key=key, label_id=label_id)
    return caught.value.reason


@settings(max_examples=150)
@given(frame=label_frames, key=label_keys, chunk_size=st.integers(1, 600))
def test_every_frame_decodes_to_what_was_encoded(
    frame: LabelFrame, key: bytes, chunk_size: int
) -> None:
    data = encode_frame(frame, key=key, chunk_size=chunk_size)
    assert decode_frame(data, key=key, label_id=frame.label_id) == frame
    assert peek_command(data) == frame.command  # read without the key, for routing only
    header = peek_header(data)
    assert (header.label_id, header.sequence, header.kind) == (
        frame.label_id,
        frame.sequence,
        FrameKind.COMMAND,
    )


@settings(max_examples=200)
@given(frame=label_frames, key=label_keys, data=st.data())
def test_any_flipped_byte_is_detected(frame: LabelFrame, key: bytes, data: st.DataObject) -> None:
    encoded = bytearray(encode_frame(frame, key=key))
    position = data.draw(st.integers(0, len(encoded) - 1), label="position")
    encoded[position] ^= data.draw(st.integers(1, 255), label="xor")
    with pytest.raises(FrameRejectedError) as caught:
        decode_frame(bytes(encoded), key=key, label_id=frame.label_id)
    assert caught.value.reason is not ReasonCode.SUCCESS


@settings(max_examples=200)
@given(data=st.binary(max_size=3000), key=label_keys)
def test_random_bytes_only_ever_raise_frame_rejected(data: bytes, key: bytes) -> None:
    with pytest.raises(FrameRejectedError):
        decode_frame(data, key=key, label_id="A1")


@settings(max_examples=100)
@given(frame=label_frames, cut=st.integers(min_value=1))
def test_a_truncated_frame_is_rejected(frame: LabelFrame, cut: int) -> None:
    encoded = encode_frame(frame, key=KEY)
    truncated = encoded[: max(0, len(encoded) - cut)]
    with pytest.raises(FrameRejectedError):
        decode_frame(truncated, key=KEY, label_id=frame.label_id)


def test_a_frame_signed_with_another_key_is_a_bad_mac() -> None:
    forged = encode_frame(LabelFrame(label_id="A1", sequence=3, command=Ping()), key=OTHER_KEY)
    assert _reason(forged) is ReasonCode.BAD_MAC


def test_a_frame_for_another_label_is_refused_as_wrong_label() -> None:
    frame = encode_frame(LabelFrame(label_id="B2", sequence=3, command=Ping()), key=KEY)
    assert _reason(frame, label_id="A1") is ReasonCode.WRONG_LABEL


def test_rewriting_the_addressee_breaks_the_mac() -> None:
    frame = encode_frame(LabelFrame(label_id="B2", sequence=3, command=Ping()), key=KEY)
    readdressed = frame.replace(b"B2", b"A1", 1)
    assert _reason(readdressed, label_id="A1") is ReasonCode.BAD_MAC


def test_raising_the_sequence_number_of_a_captured_frame_breaks_the_mac() -> None:
    frame = bytearray(encode_frame(LabelFrame(label_id="A1", sequence=3, command=Ping()), key=KEY))
    header = peek_header(bytes(frame))
    struct.pack_into("<I", frame, header.size - 4, 4_000_000)
    assert _reason(bytes(frame)) is ReasonCode.BAD_MAC


def test_a_damaged_chunk_is_reported_as_a_corrupt_chunk_not_a_forgery() -> None:
    frame = bytearray(_image_frame())
    frame[len(frame) - MAC_SIZE - 30] ^= 0x40  # inside the last chunk's image bytes
    assert _reason(bytes(frame)) is ReasonCode.CORRUPT_CHUNK


def test_image_bytes_travel_in_chunks_of_the_requested_size() -> None:
    small = _image_frame(chunk_size=100)
    large = _image_frame(chunk_size=700)
    # Eight bytes of framing per chunk: 7 chunks against 1.
    assert len(small) - len(large) == 6 * 8
    update = decode_frame(small, key=KEY, label_id="A1").command
    assert isinstance(update, ImageUpdate)
    assert update.image == b"\x01" * 700


def test_another_protocol_version_is_refused_as_such() -> None:
    frame = bytearray(encode_frame(LabelFrame(label_id="A1", sequence=3, command=Ping()), key=KEY))
    frame[2] = 2
    assert _reason(bytes(frame)) is ReasonCode.UNSUPPORTED_VERSION


def test_an_oversized_frame_is_refused_before_it_is_read() -> None:
    assert _reason(b"ES" + bytes(MAX_FRAME_BYTES)) is ReasonCode.CAPACITY_LIMIT


def test_an_unknown_opcode_with_a_valid_mac_is_an_invalid_opcode() -> None:
    frame = bytearray(encode_frame(LabelFrame(label_id="A1", sequence=3, command=Ping()), key=KEY))
    header = peek_header(bytes(frame))
    frame[header.size] = 0x7E
    resigned = bytes(frame[:-MAC_SIZE]) + compute_mac(KEY, bytes(frame[:-MAC_SIZE]))
    assert _reason(resigned) is ReasonCode.INVALID_OPCODE


def test_switch_page_uses_the_esl_display_image_opcodes() -> None:
    now = LabelFrame(label_id="A1", sequence=1, command=SwitchPage(page=2))
    later = LabelFrame(
        label_id="A1",
        sequence=2,
        command=SwitchPage(page=2, display_at=datetime(2026, 12, 1, 6, tzinfo=UTC)),
    )
    assert (now.opcode, later.opcode) == (Opcode.DISPLAY_IMAGE, Opcode.DISPLAY_TIMED_IMAGE)
    assert (Opcode.DISPLAY_IMAGE, Opcode.DISPLAY_TIMED_IMAGE) == (0x20, 0x60)


def test_refresh_display_keeps_the_esl_opcode_and_refuses_another_display() -> None:
    frame = LabelFrame(label_id="A1", sequence=1, command=RefreshDisplay())
    assert frame.opcode == Opcode.REFRESH_DISPLAY == 0x11
    data = bytearray(encode_frame(frame, key=KEY))
    header = peek_header(bytes(data))
    assert data[header.size : header.size + 2] == bytes([0x11, 0])  # display index 0
    data[header.size + 1] = 1  # a second display this label does not have
    resigned = bytes(data[:-MAC_SIZE]) + compute_mac(KEY, bytes(data[:-MAC_SIZE]))
    assert _reason(resigned) is ReasonCode.INVALID_PARAMETERS


def test_commands_refuse_values_that_do_not_fit_the_wire() -> None:
    with pytest.raises(ValueError, match="duration"):
        FlashLed(colour=LedColour.RED, pattern=LedPattern.BLINK, duration_s=0)
    with pytest.raises(ValueError, match="sequence"):
        LabelFrame(label_id="A1", sequence=0, command=Ping())
    with pytest.raises(ValueError, match="label id"):
        LabelFrame(label_id="shelf 4/12", sequence=1, command=Ping())
    with pytest.raises(ValueError, match="timezone"):
        SwitchPage(page=1, display_at=datetime(2026, 12, 1))
    with pytest.raises(ValueError, match="base_hash"):
        ImageUpdate(
            model_id="2.9-bwr",
            encoding=ImageEncoding.DELTA,
            content_hash=b"\x5a" * 16,
            image=b"x",
        )
    with pytest.raises(ValueError, match="32 bytes"):
        encode_frame(LabelFrame(label_id="A1", sequence=1, command=Ping()), key=b"short")
