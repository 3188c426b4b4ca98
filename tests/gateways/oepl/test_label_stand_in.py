"""The gateway signs for OEPL tags, so it must refuse exactly what a label refuses, and
ack only what the tag really shows (the emulated AP is the tag's side)."""

from __future__ import annotations

from datetime import timedelta

from firmware_sim.oepl_ap.http_app import ServedAccessPoint
from gateways.oepl import AccessPointClient, AccessPointDriver, DriverTimings
from gateways.oepl.radio import OeplRadio
from gateways.protocol import (
    FlashLed,
    LabelFrame,
    LedColour,
    LedPattern,
    Ping,
    ReasonCode,
    build_image_update,
    decode_response,
    encode_frame,
    generate_label_key,
)
from gateways.store_gateway.label_stand_in import Outcome, answer_frame
from gateways.store_gateway.local_state import LabelRecord
from rendering.encoding import content_hash
from tests.support.clock import wall_clock
from tests.support.oepl import price_planes, tag_mac

MODEL = (296, 128, True)


def _label(number: int, key: bytes) -> LabelRecord:
    return LabelRecord(label_id=tag_mac(number), address=tag_mac(number), model="2.9-bwr", key=key)


async def _send(label: LabelRecord, frame: bytes, radio: OeplRadio) -> Outcome:
    return await answer_frame(label, frame, radio=radio, model=MODEL, now=wall_clock())


async def test_an_ack_is_signed_only_once_the_tag_shows_the_image(
    served_ap: ServedAccessPoint, radio: OeplRadio
) -> None:
    key = generate_label_key()
    label = _label(1, key)
    planes = price_planes(seed=40)
    frame = LabelFrame(tag_mac(1), 1, build_image_update(planes, model_id="2.9-bwr"))
    outcome = await _send(label, encode_frame(frame, key=key), radio)
    assert outcome.answer is not None
    answer = decode_response(outcome.answer, key=key)
    assert answer.reason is ReasonCode.SUCCESS
    assert answer.displayed_hash == content_hash(planes)
    assert answer.battery_mv == 2950
    assert served_ap.ap.tags[tag_mac(1)].shown_planes() == planes

    # A delta against what the tag shows decodes against the gateway's copy of it.
    newer = price_planes(seed=41)
    delta = build_image_update(newer, model_id="2.9-bwr", base=planes)
    second = await _send(
        outcome.label, encode_frame(LabelFrame(tag_mac(1), 2, delta), key=key), radio
    )
    assert second.answer is not None
    assert decode_response(second.answer, key=key).reason is ReasonCode.SUCCESS
    assert served_ap.ap.tags[tag_mac(1)].shown_planes() == newer

    # A replay of the first frame is refused as stale and changes nothing on the tag.
    replay = await _send(second.label, encode_frame(frame, key=key), radio)
    assert replay.answer is not None
    assert decode_response(replay.answer, key=key).reason is ReasonCode.STALE_SEQUENCE
    assert served_ap.ap.tags[tag_mac(1)].shown_planes() == newer


async def test_a_forged_frame_never_reaches_the_ap(
    served_ap: ServedAccessPoint, radio: OeplRadio
) -> None:
    key = generate_label_key()
    forged = LabelFrame(
        tag_mac(2), 5, build_image_update(price_planes(seed=42), model_id="2.9-bwr")
    )
    outcome = await _send(_label(2, key), encode_frame(forged, key=generate_label_key()), radio)
    assert outcome.answer is not None
    assert decode_response(outcome.answer, key=key).reason is ReasonCode.BAD_MAC
    assert outcome.label.last_sequence == 0  # a forged frame takes no sequence
    assert served_ap.ap.tags[tag_mac(2)].stored_raw is None  # nothing was uploaded


async def test_timed_images_and_other_pages_are_refused_as_this_label_cannot(
    served_ap: ServedAccessPoint, radio: OeplRadio
) -> None:
    key = generate_label_key()
    planes = price_planes(seed=43)
    later = build_image_update(
        planes, model_id="2.9-bwr", display_at=wall_clock() + timedelta(hours=1)
    )
    other_page = build_image_update(planes, model_id="2.9-bwr", page=1)
    label = _label(3, key)
    timed = await _send(label, encode_frame(LabelFrame(tag_mac(3), 1, later), key=key), radio)
    paged = await _send(
        timed.label, encode_frame(LabelFrame(tag_mac(3), 2, other_page), key=key), radio
    )
    assert timed.answer is not None
    assert paged.answer is not None
    assert decode_response(timed.answer, key=key).reason is ReasonCode.INVALID_PARAMETERS
    assert decode_response(paged.answer, key=key).reason is ReasonCode.INVALID_IMAGE_INDEX
    assert served_ap.ap.tags[tag_mac(3)].stored_raw is None


async def test_a_tag_that_never_checks_in_gets_no_ack_and_keeps_its_sequence(
    served_ap: ServedAccessPoint, radio: OeplRadio
) -> None:
    served_ap.ap.tags[tag_mac(4)].checks_in = False
    key = generate_label_key()
    frame = LabelFrame(tag_mac(4), 1, build_image_update(price_planes(seed=44), model_id="2.9-bwr"))
    outcome = await _send(_label(4, key), encode_frame(frame, key=key), radio)
    assert outcome.answer is None  # silence: the controller resends, then parks it offline
    assert outcome.label.last_sequence == 0
    assert "never checked in" in outcome.label.last_error


async def test_led_flash_goes_to_the_ap_as_its_pattern(
    served_ap: ServedAccessPoint, radio: OeplRadio
) -> None:
    key = generate_label_key()
    frame = LabelFrame(
        tag_mac(5), 1, FlashLed(colour=LedColour.RED, pattern=LedPattern.BLINK, duration_s=10)
    )
    outcome = await _send(_label(5, key), encode_frame(frame, key=key), radio)
    assert outcome.answer is not None
    assert decode_response(outcome.answer, key=key).reason is ReasonCode.SUCCESS
    tag = served_ap.ap.tags[tag_mac(5)]
    assert [c for c in tag.commands + tag.delivered if c.startswith("led:")]


async def test_a_ping_answers_with_what_the_ap_heard_and_a_silent_tag_does_not_answer(
    served_ap: ServedAccessPoint,
) -> None:
    timings = DriverTimings(poll_s=0.02, confirm_timeout_s=0.6, silent_after_s=5.0)
    radio = OeplRadio(AccessPointDriver(AccessPointClient(served_ap.url), timings=timings))
    key = generate_label_key()
    alive, gone = served_ap.ap.tags[tag_mac(4)], served_ap.ap.tags[tag_mac(5)]
    alive.battery_mv, alive.rssi = 2_480, -70
    gone.checks_in = False
    gone.last_seen -= 60  # it last checked in a minute ago
    try:
        pinged = await _send(
            _label(4, key), encode_frame(LabelFrame(tag_mac(4), 1, Ping()), key=key), radio
        )
        silent = [
            await _send(_label(5, key), encode_frame(LabelFrame(tag_mac(5), 1, c), key=key), radio)
            for c in (Ping(), FlashLed(LedColour.RED, LedPattern.BLINK, 10))
        ]
    finally:
        await radio.close()
    assert pinged.answer is not None
    answer = decode_response(pinged.answer, key=key)
    assert (answer.reason, answer.battery_mv, answer.rssi_dbm) == (ReasonCode.SUCCESS, 2480, -70)
    # A tag that stopped checking in does not look alive: no answer, the reason kept.
    assert [outcome.answer for outcome in silent] == [None, None]
    assert "the AP has not heard it for" in silent[0].label.last_error
    assert gone.commands == []  # no LED pattern queued for a tag that is not there
