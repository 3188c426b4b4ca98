"""Label image encoding: what the label decodes is exactly what the controller drew."""

from __future__ import annotations

import contextlib
import random
import zlib
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rendering.display_models import DISPLAY_MODELS, DisplayModel
from rendering.encoding import (
    Planes,
    content_hash,
    decode,
    encode_delta,
    encode_full,
    image_from_planes,
    planes_from_image,
    raw_planes,
)
from rendering.errors import DecodeError, DecodeReason
from tests.rendering.every_model import MODELS, each_model
from tests.strategies import edited_planes, label_planes

PINNED_WHITE_29_BWR = "e540eddcfa6b3e57634b1085c0b2aa2f"
_HYPOTHESIS = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.data_too_large]
)


def _on_every_model(
    test: Callable[[DisplayModel, st.DataObject], None],
) -> Callable[..., None]:
    """A property of every model's images: `data` draws planes of the `model` at hand."""
    return each_model(_HYPOTHESIS(given(data=st.data())(test)))


def _planes(model: DisplayModel) -> st.SearchStrategy[Planes]:
    return label_planes(width=model.width, height=model.height, has_accent=model.has_accent)


def _decode(data: bytes, model: DisplayModel, base: Planes | None = None) -> Planes:
    return decode(
        data, width=model.width, height=model.height, has_accent=model.has_accent, base=base
    )


def _white(model: DisplayModel) -> Planes:
    size = (model.width + 7) // 8 * model.height
    return Planes(
        width=model.width,
        height=model.height,
        black=bytes(size),
        accent=bytes(size) if model.has_accent else None,
    )


@_on_every_model
def test_a_full_image_decodes_to_exactly_the_planes_encoded(
    model: DisplayModel, data: st.DataObject
) -> None:
    planes = data.draw(_planes(model))
    assert _decode(encode_full(planes), model) == planes


@_on_every_model
def test_a_full_image_is_never_larger_than_zlib_level_9(
    model: DisplayModel, data: st.DataObject
) -> None:
    planes = data.draw(_planes(model))
    assert len(encode_full(planes)) <= len(zlib.compress(raw_planes(planes), 9))


@_on_every_model
def test_a_delta_applied_to_its_base_gives_the_new_image(
    model: DisplayModel, data: st.DataObject
) -> None:
    base = data.draw(_planes(model))
    new = data.draw(st.one_of(edited_planes(base), _planes(model)))
    assert _decode(encode_delta(base, new), model, base=base) == new


def test_a_delta_between_equal_images_is_a_handful_of_bytes() -> None:
    model = DISPLAY_MODELS["7.5-bwr"]
    assert len(encode_delta(_white(model), _white(model))) <= 16


def test_a_small_edit_costs_a_small_delta() -> None:
    model = DISPLAY_MODELS["2.9-bwr"]
    rng = random.Random(7)
    base = _white(model)
    black = bytearray(base.black)
    for row in range(40, 60):
        for col in range(10, 16):
            black[row * base.stride + col] = rng.randrange(256)
    new = Planes(width=base.width, height=base.height, black=bytes(black), accent=base.accent)
    delta = encode_delta(base, new)
    # 120 changed bytes of noise cannot shrink; the whole image is 9,472 bytes raw.
    assert len(delta) < 120 + 40
    assert _decode(delta, model, base=base) == new


def test_a_delta_for_another_image_is_refused() -> None:
    model = DISPLAY_MODELS["2.9-bwr"]
    base = _white(model)
    other = Planes(
        width=base.width,
        height=base.height,
        black=b"\x80" + base.black[1:],
        accent=base.accent,
    )
    delta = encode_delta(base, other)
    with pytest.raises(DecodeError) as caught:
        _decode(delta, model, base=other)
    assert caught.value.reason is DecodeReason.WRONG_BASE
    with pytest.raises(DecodeError) as caught:
        _decode(delta, model, base=None)
    assert caught.value.reason is DecodeReason.MISSING_BASE


def test_an_image_for_a_model_with_other_planes_is_refused() -> None:
    encoded = encode_full(_white(DISPLAY_MODELS["2.9-bwr"]))
    with pytest.raises(DecodeError) as caught:
        _decode(encoded, DISPLAY_MODELS["2.9-bw"])
    assert caught.value.reason is DecodeReason.ACCENT_MISMATCH
    with pytest.raises(DecodeError) as caught:
        _decode(encoded, DISPLAY_MODELS["2.6-bwr"])
    assert caught.value.reason in {DecodeReason.WRONG_SIZE, DecodeReason.TOO_LARGE}


def test_every_truncation_and_every_trailing_byte_is_refused() -> None:
    model = DISPLAY_MODELS["2.13-bwr"]
    base = _white(model)
    new = _pattern(model)
    for encoded, base_image in ((encode_full(new), None), (encode_delta(base, new), base)):
        for cut in range(len(encoded)):
            with pytest.raises(DecodeError):
                _decode(encoded[:cut], model, base=base_image)
        with pytest.raises(DecodeError) as caught:
            _decode(encoded + b"\x00", model, base=base_image)
        assert caught.value.reason in {DecodeReason.TRAILING_BYTES, DecodeReason.TOO_LARGE}


def _pattern(model: DisplayModel) -> Planes:
    rng = random.Random(3)
    base = _white(model)
    last_byte_mask = (0xFF << (-model.width % 8)) & 0xFF
    black = bytearray(base.black)
    for index in range(0, len(black), 7):
        row_end = index % base.stride == base.stride - 1
        black[index] = rng.randrange(256) & (last_byte_mask if row_end else 0xFF)
    return Planes(width=base.width, height=base.height, black=bytes(black), accent=base.accent)


def test_a_zip_bomb_is_refused_without_inflating_it() -> None:
    model = DISPLAY_MODELS["2.9-bw"]
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    bomb = compressor.compress(bytes(50_000_000)) + compressor.flush()
    encoded = bytes([0x01]) + content_hash(_white(model))[:4] + bomb
    with pytest.raises(DecodeError) as caught:
        _decode(encoded, model)
    assert caught.value.reason is DecodeReason.TOO_LARGE


def test_set_padding_bits_are_refused() -> None:
    model = DISPLAY_MODELS["2.13-bw"]  # 250 pixels: 6 padding bits per row
    raw = bytearray(_white(model).black)
    raw[31] = 0x01
    encoded = bytes([0x00]) + bytes(4) + bytes(raw)
    with pytest.raises(DecodeError) as caught:
        _decode(encoded, model)
    assert caught.value.reason is DecodeReason.BAD_PADDING


def test_a_flipped_bit_never_yields_a_wrong_image() -> None:
    model = DISPLAY_MODELS["2.9-bwr"]
    new = _pattern(model)
    base = _white(model)
    for encoded, base_image in ((encode_full(new), None), (encode_delta(base, new), base)):
        rng = random.Random(11)
        for _ in range(300):
            corrupt = bytearray(encoded)
            corrupt[rng.randrange(len(corrupt))] ^= 1 << rng.randrange(8)
            with contextlib.suppress(DecodeError):
                assert _decode(bytes(corrupt), model, base=base_image) == new


@pytest.mark.parametrize("model", MODELS[:4], ids=lambda m: m.id)
@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=600), header=st.integers(0, 255))
def test_random_bytes_raise_only_decode_error(
    model: DisplayModel, data: bytes, header: int
) -> None:
    base = _white(model)
    for candidate in (data, bytes([header]) + data):
        with contextlib.suppress(DecodeError):
            _decode(candidate, model, base=base)


def test_content_hash_is_pinned_so_every_machine_agrees() -> None:
    # Labels report this hash; a change here would make every deployed label look stale.
    planes = _white(DISPLAY_MODELS["2.9-bwr"])
    assert content_hash(planes).hex() == PINNED_WHITE_29_BWR
    assert len(content_hash(planes)) == 16


def test_content_hash_tells_apart_a_single_pixel_and_the_dimensions() -> None:
    white = _white(DISPLAY_MODELS["2.9-bwr"])
    one_pixel = Planes(
        width=white.width,
        height=white.height,
        black=white.black[:-1] + b"\x01",
        accent=white.accent,
    )
    transposed = Planes(width=128, height=296, black=white.black, accent=white.accent)
    hashes = {content_hash(white), content_hash(one_pixel), content_hash(transposed)}
    assert len(hashes) == 3


@each_model
def test_an_image_survives_packing_into_planes_and_back(model: DisplayModel) -> None:
    planes = _pattern(model)
    image = image_from_planes(planes, palette=model.palette)
    assert image.mode == "P"
    assert planes_from_image(image, has_accent=model.has_accent) == planes


def test_accent_pixels_turn_black_on_a_black_and_white_label() -> None:
    model = DISPLAY_MODELS["2.9-bwr"]
    accent = bytearray(_white(model).black)
    accent[0] = 0xFF
    planes = Planes(width=296, height=128, black=bytes(len(accent)), accent=bytes(accent))
    image = image_from_planes(planes)
    black_white = planes_from_image(image, has_accent=False)
    assert black_white.accent is None
    assert black_white.black == bytes(accent)
