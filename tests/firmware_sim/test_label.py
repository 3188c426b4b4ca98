"""A simulated label behaves like hardware: shows what it was sent, refuses what it cannot
verify, drains its battery, runs its ESL state machine, and never crashes."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from firmware_sim.hardware import hardware_for
from firmware_sim.label import SimulatedLabel
from gateways.protocol import (
    MAC_SIZE,
    BasicStateFlag,
    Command,
    FlashLed,
    FrameKind,
    ImageEncoding,
    ImageUpdate,
    LabelFrame,
    LabelResponse,
    LabelState,
    LedColour,
    LedPattern,
    Ping,
    ReasonCode,
    RefreshDisplay,
    SetClock,
    SwitchPage,
    Unassociate,
    build_image_update,
    decode_response,
    encode_frame,
)
from rendering.display_models import get_display_model
from rendering.encoding import Planes, content_hash, encode_full, image_from_planes
from tests.firmware_sim.shelf_images import price_label
from tests.strategies import edited_planes, label_planes, protocol_commands

KEY = bytes(range(32))
T0 = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
MODEL = get_display_model("2.9-bwr")
REFRESH = timedelta(milliseconds=hardware_for(MODEL).refresh_ms)
PRICE_A = price_label("4,99 zł")
PRICE_B = price_label("3,99 zł")


def _label(*, now: datetime = T0, model_id: str = "2.9-bwr") -> SimulatedLabel:
    return SimulatedLabel(
        label_id="S001-gw1-00001",
        hardware=hardware_for(get_display_model(model_id)),
        key=KEY,
        now=now,
    )


def _frame(sequence: int, command: Command, *, key: bytes = KEY, label_id: str = "") -> bytes:
    frame = LabelFrame(label_id=label_id or "S001-gw1-00001", sequence=sequence, command=command)
    return encode_frame(frame, key=key)


def _send(label: SimulatedLabel, data: bytes, *, at: datetime = T0) -> LabelResponse:
    answer = label.receive(data, now=at)
    assert answer is not None
    return decode_response(answer, key=KEY)


def _show(planes: Planes, *, base: Planes | None = None, **fields: object) -> ImageUpdate:
    return build_image_update(planes, model_id=MODEL.id, base=base, **fields)  # type: ignore[arg-type]


def _pixels(png: bytes) -> bytes:
    return Image.open(io.BytesIO(png)).convert("RGB").tobytes()


# ---------------------------------------------------------------- showing images


def test_a_full_image_is_shown_pixel_for_pixel() -> None:
    label = _label()
    response = _send(label, _frame(1, _show(PRICE_A)))
    assert response.acked
    assert response.sequence == 1
    assert response.displayed_hash == content_hash(PRICE_A)
    assert label.shown == PRICE_A
    expected = image_from_planes(PRICE_A, palette=MODEL.palette).convert("RGB").tobytes()
    assert _pixels(label.display_png()) == expected


def test_a_label_that_never_received_an_image_shows_white() -> None:
    png = Image.open(io.BytesIO(_label().display_png())).convert("RGB")
    assert png.size == (MODEL.width, MODEL.height)
    assert png.getcolors() == [(MODEL.width * MODEL.height, (255, 255, 255))]


def test_a_delta_is_applied_to_the_image_shown_now() -> None:
    label = _label()
    _send(label, _frame(1, _show(PRICE_A)))
    update = _show(PRICE_B, base=PRICE_A)
    assert update.encoding is ImageEncoding.DELTA
    response = _send(label, _frame(2, update), at=T0 + REFRESH)
    assert response.acked
    assert label.shown == PRICE_B


def test_a_delta_against_another_base_is_refused_and_the_display_kept() -> None:
    label = _label()
    _send(label, _frame(1, _show(PRICE_A)))
    other = price_label("9,99 zł")
    response = _send(label, _frame(2, _show(PRICE_B, base=other)), at=T0 + REFRESH)
    assert response.reason is ReasonCode.UNKNOWN_BASE_IMAGE
    assert response.displayed_hash == content_hash(PRICE_A)
    assert label.shown == PRICE_A


def test_a_delta_to_a_blank_label_is_refused_as_unknown_base() -> None:
    response = _send(_label(), _frame(1, _show(PRICE_B, base=PRICE_A)))
    assert response.reason is ReasonCode.UNKNOWN_BASE_IMAGE
    assert response.displayed_hash is None


def test_an_image_for_another_display_model_is_refused() -> None:
    small = price_label("4,99 zł", model_id="1.54-bw")
    update = build_image_update(small, model_id="1.54-bw")
    response = _send(_label(), _frame(1, update))
    assert response.reason is ReasonCode.WRONG_MODEL
    assert response.displayed_hash is None


def test_image_bytes_that_do_not_decode_to_the_announced_hash_are_a_corrupt_image() -> None:
    lying = ImageUpdate(
        model_id=MODEL.id,
        encoding=ImageEncoding.FULL,
        content_hash=content_hash(PRICE_B),
        image=encode_full(PRICE_A),
    )
    label = _label()
    assert _send(label, _frame(1, lying)).reason is ReasonCode.CORRUPT_IMAGE
    garbage = ImageUpdate(
        model_id=MODEL.id,
        encoding=ImageEncoding.FULL,
        content_hash=content_hash(PRICE_A),
        image=b"\x41not an image",
    )
    assert _send(label, _frame(2, garbage)).reason is ReasonCode.CORRUPT_IMAGE
    assert label.shown is None


# ---------------------------------------------------------------- rejections


def test_a_replayed_older_frame_is_refused_as_stale_and_changes_nothing() -> None:
    label = _label()
    old = _frame(1, _show(PRICE_A))
    _send(label, old)
    _send(label, _frame(2, _show(PRICE_B)), at=T0 + REFRESH)
    response = _send(label, old, at=T0 + 3 * REFRESH)
    assert response.reason is ReasonCode.STALE_SEQUENCE
    assert response.sequence == 1
    assert label.shown == PRICE_B


def test_the_same_frame_delivered_twice_is_answered_twice_but_applied_once() -> None:
    label = _label()
    frame = _frame(1, _show(PRICE_A))
    first = label.receive(frame, now=T0)
    again = label.receive(frame, now=T0 + timedelta(seconds=1))
    assert again == first
    assert label.refreshes == 1


def test_a_forged_mac_is_refused_and_the_display_kept() -> None:
    label = _label()
    _send(label, _frame(1, _show(PRICE_A)))
    forged = _frame(2, _show(PRICE_B), key=bytes(32))
    response = _send(label, forged, at=T0 + REFRESH)
    assert response.reason is ReasonCode.BAD_MAC
    assert response.sequence == 2
    assert label.shown == PRICE_A
    # The forgery did not burn the sequence number: the real frame 2 still applies.
    assert _send(label, _frame(2, _show(PRICE_B)), at=T0 + REFRESH).acked


def test_a_frame_for_another_label_is_refused_as_wrong_label() -> None:
    response = _send(_label(), _frame(1, _show(PRICE_A), label_id="S001-gw1-00002"))
    assert response.reason is ReasonCode.WRONG_LABEL
    assert response.label_id == "S001-gw1-00001"


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=2000))
def test_any_random_bytes_get_a_signed_nack_and_leave_the_display_alone(data: bytes) -> None:
    label = _label()
    _send(label, _frame(1, _show(PRICE_A)))
    before = label.display_png()
    response = _send(label, data, at=T0 + REFRESH)
    assert not response.acked
    assert label.display_png() == before


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow])
@given(position=st.integers(min_value=0), flip=st.integers(1, 255))
def test_a_frame_damaged_anywhere_gets_a_nack_and_leaves_the_display_alone(
    position: int, flip: int
) -> None:
    label = _label()
    _send(label, _frame(1, _show(PRICE_A)))
    damaged = bytearray(_frame(2, _show(PRICE_B)))
    damaged[position % len(damaged)] ^= flip
    response = _send(label, bytes(damaged), at=T0 + REFRESH)
    assert not response.acked
    assert label.shown == PRICE_A


# ---------------------------------------------------------------- refresh, battery, timing


def test_a_frame_during_a_refresh_is_refused_as_busy_and_applies_later() -> None:
    label = _label()
    _send(label, _frame(1, _show(PRICE_A)))
    assert label.state(now=T0 + REFRESH / 2) is LabelState.UPDATING
    second = _frame(2, _show(PRICE_B))
    busy = _send(label, second, at=T0 + REFRESH / 2)
    assert busy.reason is ReasonCode.BUSY
    assert busy.state is LabelState.UPDATING
    assert _send(label, second, at=T0 + REFRESH).acked
    assert label.shown == PRICE_B


def test_a_flat_battery_refuses_to_refresh_but_still_answers() -> None:
    label = _label()
    _send(label, _frame(1, _show(PRICE_A)))
    label.set_battery_mv(2_350)
    response = _send(label, _frame(2, _show(PRICE_B)), at=T0 + REFRESH)
    assert response.reason is ReasonCode.LOW_BATTERY
    assert response.battery_mv == 2_349  # receiving and answering cost a little too
    assert BasicStateFlag.SERVICE_NEEDED in response.flags
    assert label.shown == PRICE_A
    assert _send(label, _frame(3, Ping()), at=T0 + REFRESH).acked


def test_a_browned_out_label_is_silent() -> None:
    label = _label()
    label.set_battery_mv(1_900)
    assert label.receive(_frame(1, Ping()), now=T0) is None
    assert not label.check_in(now=T0)


def test_the_battery_drains_a_little_per_radio_frame_and_more_per_refresh() -> None:
    label = _label()
    start = label.battery_nv
    _send(label, _frame(1, Ping()))
    after_ping = label.battery_nv
    _send(label, _frame(2, _show(PRICE_A)))
    after_refresh = label.battery_nv
    assert 0 < start - after_ping < after_ping - after_refresh


def test_a_timed_image_flips_at_its_instant() -> None:
    label = _label()
    _send(label, _frame(1, _show(PRICE_A)))
    flip_at = T0 + timedelta(minutes=30)
    response = _send(label, _frame(2, _show(PRICE_B, page=1, display_at=flip_at)), at=T0 + REFRESH)
    assert response.acked
    assert BasicStateFlag.PENDING_DISPLAY_UPDATE in response.flags
    assert label.state(now=flip_at - timedelta(seconds=1)) is LabelState.SYNCHRONIZED
    assert label.shown == PRICE_A
    assert label.state(now=flip_at + timedelta(seconds=1)) is LabelState.UPDATING
    assert label.shown == PRICE_B
    assert label.shown_page == 1


def test_timed_images_follow_the_labels_clock() -> None:
    label = _label()
    # The label's clock is set one hour ahead of the simulation clock.
    _send(label, _frame(1, SetClock(at=T0 + timedelta(hours=1))))
    response = _send(label, _frame(2, _show(PRICE_A, display_at=T0 + timedelta(minutes=30))))
    assert response.acked
    assert label.shown == PRICE_A  # already past 06:30 by the label's clock
    assert response.label_time == T0 + timedelta(hours=1)


def test_an_implausible_clock_is_refused() -> None:
    response = _send(_label(), _frame(1, SetClock(at=datetime(1999, 1, 1, tzinfo=UTC))))
    assert response.reason is ReasonCode.IMPLAUSIBLE_ABSOLUTE_TIME


def test_pages_switch_and_unknown_pages_are_refused_with_esl_codes() -> None:
    label = _label()
    _send(label, _frame(1, _show(PRICE_A, page=0)))
    _send(label, _frame(2, _show(PRICE_B, page=1)), at=T0 + REFRESH)
    assert _send(label, _frame(3, SwitchPage(page=0)), at=T0 + 2 * REFRESH).acked
    assert label.shown == PRICE_A
    missing = _send(label, _frame(4, SwitchPage(page=2)), at=T0 + 3 * REFRESH)
    assert missing.reason is ReasonCode.IMAGE_NOT_AVAILABLE
    beyond = _send(label, _frame(5, SwitchPage(page=9)), at=T0 + 3 * REFRESH)
    assert beyond.reason is ReasonCode.INVALID_IMAGE_INDEX
    assert label.shown == PRICE_A


def test_a_flashing_led_shows_in_the_state_until_its_time_is_up() -> None:
    label = _label()
    flash = FlashLed(colour=LedColour.GREEN, pattern=LedPattern.FAST_BLINK, duration_s=30)
    assert BasicStateFlag.ACTIVE_LED in _send(label, _frame(1, flash)).flags
    later = _send(label, _frame(2, Ping()), at=T0 + timedelta(seconds=31))
    assert BasicStateFlag.ACTIVE_LED not in later.flags


# ---------------------------------------------------------------- ESL states


def test_states_follow_the_esl_service_timeouts() -> None:
    label = _label()
    assert label.state(now=T0) is LabelState.CONFIGURED
    _send(label, _frame(1, Ping()))
    assert label.state(now=T0 + timedelta(minutes=59)) is LabelState.SYNCHRONIZED
    assert label.state(now=T0 + timedelta(minutes=61)) is LabelState.UNSYNCHRONIZED
    # A valid message brings it back.
    _send(label, _frame(2, Ping()), at=T0 + timedelta(minutes=61))
    assert label.state(now=T0 + timedelta(minutes=62)) is LabelState.SYNCHRONIZED
    # Two silent hours later the key is gone: the label no longer answers anything.
    assert label.state(now=T0 + timedelta(minutes=182)) is LabelState.UNASSOCIATED
    assert label.receive(_frame(3, Ping()), now=T0 + timedelta(minutes=182)) is None


def test_unassociate_is_acknowledged_then_the_label_forgets_its_key() -> None:
    label = _label()
    _send(label, _frame(1, _show(PRICE_A)))
    response = _send(label, _frame(2, Unassociate()), at=T0 + REFRESH)
    assert response.acked
    assert label.state(now=T0 + REFRESH) is LabelState.UNASSOCIATED
    assert label.receive(_frame(3, Ping()), now=T0 + REFRESH) is None
    assert label.shown == PRICE_A  # e-paper keeps its last image without power
    # Associated again with the same key, it keeps counting: frames 1 and 2 stay replays.
    label.associate(KEY, now=T0 + 2 * REFRESH)
    assert _send(label, _frame(1, Ping()), at=T0 + 2 * REFRESH).reason is ReasonCode.STALE_SEQUENCE
    assert _send(label, _frame(3, Ping()), at=T0 + 2 * REFRESH).acked
    # A new key starts the count again: frames signed with the old one fail their MAC.
    other = bytes(range(1, 33))
    label.associate(other, now=T0 + 2 * REFRESH)
    fresh = label.receive(_frame(1, Ping(), key=other), now=T0 + 2 * REFRESH)
    assert fresh is not None
    assert decode_response(fresh, key=other).acked


def test_an_old_price_frame_replayed_after_reassociation_is_refused() -> None:
    label = _label()
    old_price = _frame(1, _show(PRICE_A))  # captured on the radio by a rogue device
    assert _send(label, old_price).acked
    assert _send(label, _frame(2, _show(PRICE_B)), at=T0 + REFRESH).acked
    assert _send(label, _frame(3, Unassociate()), at=T0 + 2 * REFRESH).acked
    later = T0 + 3 * REFRESH
    label.associate(KEY, now=later)  # the kit carries the key the database holds
    answer = _send(label, old_price, at=later + timedelta(seconds=1))
    assert answer.reason is ReasonCode.STALE_SEQUENCE
    assert label.shown == PRICE_B
    # The captured Unassociate, replayed: the last frame accepted, so a radio duplicate,
    # answered with the stored answer and changing nothing.
    label.receive(_frame(3, Unassociate()), now=later + timedelta(seconds=2))
    assert label.associated
    assert _send(label, _frame(2, Unassociate()), at=later + timedelta(seconds=3)).reason is (
        ReasonCode.STALE_SEQUENCE
    )
    assert label.associated


def test_a_check_in_reports_health_signed_with_the_label_key() -> None:
    label = _label()
    _send(label, _frame(5, _show(PRICE_A)))
    assert label.check_in(now=T0 + REFRESH)
    report = label.status_report(now=T0 + REFRESH)
    assert report is not None
    decoded = decode_response(report, key=KEY)
    assert decoded.kind is FrameKind.CHECK_IN
    assert decoded.sequence == 5
    assert decoded.displayed_hash == content_hash(PRICE_A)
    assert decoded.firmware == "1.0.0"
    assert -100 <= decoded.rssi_dbm <= -40


def test_nacks_are_signed_so_the_controller_can_trust_them() -> None:
    label = _label()
    answer = label.receive(b"\x00" * 40, now=T0)
    assert answer is not None
    assert len(answer) > MAC_SIZE
    with pytest.raises(Exception, match="bad_mac"):
        decode_response(answer, key=bytes(32))
    assert decode_response(answer, key=KEY).reason is ReasonCode.MALFORMED_FRAME


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_whatever_image_is_sent_full_then_as_a_delta_is_exactly_what_the_label_shows(
    data: st.DataObject,
) -> None:
    first = data.draw(label_planes(width=MODEL.width, height=MODEL.height, has_accent=True))
    second = data.draw(edited_planes(first))
    label = _label()
    assert _send(label, _frame(1, _show(first))).acked
    assert label.shown == first
    response = _send(label, _frame(2, _show(second, base=first)), at=T0 + REFRESH)
    assert response.acked
    assert label.shown == second
    assert response.displayed_hash == content_hash(second)


def test_an_image_already_on_the_panel_is_acknowledged_without_a_redraw() -> None:
    label = _label()
    _send(label, _frame(1, _show(PRICE_A)))
    battery = label.battery_nv
    response = _send(label, _frame(2, _show(PRICE_A)), at=T0 + REFRESH)
    assert response.acked
    assert response.displayed_hash == content_hash(PRICE_A)
    assert label.refreshes == 1
    assert battery - label.battery_nv < label.hardware.refresh_cost_nv


def test_refresh_display_draws_the_image_shown_again() -> None:
    label = _label()
    nothing = _send(label, _frame(1, RefreshDisplay()))
    assert nothing.reason is ReasonCode.IMAGE_NOT_AVAILABLE
    _send(label, _frame(2, _show(PRICE_A)))
    busy = _send(label, _frame(3, RefreshDisplay()), at=T0 + REFRESH / 2)
    assert busy.reason.is_transient  # still drawing the image: asked again later
    battery = label.battery_nv
    drawn = _send(label, _frame(4, RefreshDisplay()), at=T0 + REFRESH)
    assert drawn.acked
    assert drawn.displayed_hash == content_hash(PRICE_A)
    assert label.refreshes == 2
    assert battery - label.battery_nv >= label.hardware.refresh_cost_nv


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(commands=st.lists(protocol_commands, min_size=1, max_size=6), gaps=st.data())
def test_any_authentic_command_sequence_gets_signed_answers_and_nacks_change_nothing(
    commands: list[Command], gaps: st.DataObject
) -> None:
    label = _label()
    _send(label, _frame(1, _show(PRICE_A)))
    now = T0
    for sequence, command in enumerate(commands, start=2):
        now += timedelta(seconds=gaps.draw(st.integers(0, 3600)))
        label.state(now=now)  # let a scheduled flip due by now happen first
        before = (label.shown_hash, tuple(label.page_hashes))
        answer = label.receive(_frame(sequence, command), now=now)
        if answer is None:  # only after Unassociate: no key, no answers
            assert not label.associated
            return
        response = decode_response(answer, key=KEY)
        assert response.sequence == sequence
        if not response.acked:
            assert (label.shown_hash, tuple(label.page_hashes)) == before
