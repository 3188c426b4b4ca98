"""One tag heard by two APs of a store (docs/gateways.md: one gateway per AP,
a label follows the gateway whose verified answer or check-in arrived last; the second
AP's provisioning file may list it with the same key).

Real OEPL: a tag roams to the AP with the best signal; the AP it left keeps its record
(the image it stored for the tag, its update count and time) and learns nothing of what
the tag took from the other AP. The tag itself compares only the data version an AP
offers with the one it holds.

Price P goes out via AP2, the tag roams to AP1 and takes Q there, then roams back to AP2
and the controller sends P again via AP2 (a price put back: the end of a promotion). AP2
still records P as the tag's image with the update in which AP2's gateway saw it take P,
so the driver takes "the same image again" as delivered and signs SUCCESS, although the
panel shows Q: the controller records P, the audit says match, the shelf shows Q.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from firmware_sim.oepl_ap.access_point import EmulatedAccessPoint, EmulatedTag
from firmware_sim.oepl_ap.http_app import ServedAccessPoint
from gateways.mqtt.endpoint import BrokerEndpoint
from gateways.oepl import AccessPointClient, AccessPointDriver, DriverTimings
from gateways.oepl.radio import OeplRadio
from gateways.protocol import (
    FrameKind,
    LabelFrame,
    ReasonCode,
    build_image_update,
    decode_response,
    encode_frame,
    generate_label_key,
)
from gateways.store_gateway.label_stand_in import Outcome, answer_frame, drawn_over
from gateways.store_gateway.local_state import LabelRecord
from gateways.store_gateway.process import StoreGatewayProcess, open_local_state
from rendering.encoding import Planes, content_hash
from tests.support.clock import wall_clock
from tests.support.oepl import FAST_AP, HW_29_BWR, price_planes, tag_mac, take_check_ins

MODEL = (296, 128, True)
MAC = tag_mac(1)
TIMINGS = DriverTimings(poll_s=0.02, confirm_timeout_s=1.5, busy_base_delay_s=0.01)
AP_CONFIG = replace(FAST_AP, check_in_interval_s=0.05)
# The silence after which a tag heard again may have been at another AP, scaled as the
# emulated tags' check-ins are (every 0.05 s, a real tag's about every 40 s; the AP stamps
# whole seconds, so the threshold is more than one).
ROAMING_TIMINGS = replace(TIMINGS, silent_after_s=2.0)


@pytest.fixture
async def two_aps() -> AsyncIterator[tuple[ServedAccessPoint, ServedAccessPoint]]:
    now = time.time()
    ap1, ap2 = EmulatedAccessPoint(AP_CONFIG), EmulatedAccessPoint(AP_CONFIG)
    # Each AP has its own record of the same tag; only the one it is near hears it.
    ap1.add_tag(EmulatedTag(mac=MAC, hw_type=HW_29_BWR, checks_in=False), now=now)
    ap2.add_tag(EmulatedTag(mac=MAC, hw_type=HW_29_BWR, checks_in=True), now=now)
    async with ServedAccessPoint(ap1) as served1, ServedAccessPoint(ap2) as served2:
        yield served1, served2


def _radio(served: ServedAccessPoint, timings: DriverTimings = TIMINGS) -> OeplRadio:
    return OeplRadio(AccessPointDriver(AccessPointClient(served.url), timings=timings))


def _roam(panel_from: EmulatedTag, to: EmulatedTag) -> None:
    """The tag leaves one AP for the other: it takes its panel (what it shows and the data
    version it holds) along; the AP it joins keeps its own record of it."""
    panel_from.checks_in = False
    to.shown_raw, to.shown_md5 = panel_from.shown_raw, panel_from.shown_md5
    to.checks_in = True


def _frame(sequence: int, planes: Planes, key: bytes) -> bytes:
    return encode_frame(
        LabelFrame(MAC, sequence, build_image_update(planes, model_id="2.9-bwr")), key=key
    )


async def _send(label: LabelRecord, frame: bytes, radio: OeplRadio) -> Outcome:
    return await answer_frame(label, frame, radio=radio, model=MODEL, now=wall_clock())


@pytest.mark.parametrize("gateway2", ["kept_running", "restarted"])
async def test_a_price_put_back_via_the_ap_the_tag_roamed_back_to_is_not_acked_unseen(
    two_aps: tuple[ServedAccessPoint, ServedAccessPoint], gateway2: str
) -> None:
    """Frame 3 comes to gateway 2 after its frame 1: frame 2 was signed elsewhere, so
    gateway 2 does not vouch for its own delivery of P, and the tag is made to fetch P
    (`restarted`, gateway 2's driver forgetting what it saw the tag take, passed before;
    `kept_running` failed: the driver's memory of the tag taking P via AP2 was trusted)."""
    served1, served2 = two_aps
    at_ap1, at_ap2 = served1.ap.tags[MAC], served2.ap.tags[MAC]
    key = generate_label_key()  # the same key in both gateways' provisioning files
    gw1 = LabelRecord(label_id=MAC, address=MAC, model="2.9-bwr", key=key)
    gw2 = LabelRecord(label_id=MAC, address=MAC, model="2.9-bwr", key=key)
    p, q = price_planes(seed=501), price_planes(seed=502)
    radio1, radio2 = _radio(served1), _radio(served2)
    try:
        # 1. P via AP2 (the tag is near AP2).
        first = await _send(gw2, _frame(1, p, key), radio2)
        assert first.answer is not None
        assert decode_response(first.answer, key=key).reason is ReasonCode.SUCCESS
        assert at_ap2.shown_planes() == p

        # 2. The tag roams to AP1; its check-ins there move the label to gateway 1, which
        #    puts Q on it.
        _roam(at_ap2, at_ap1)
        second = await _send(gw1, _frame(2, q, key), radio1)
        assert second.answer is not None
        assert decode_response(second.answer, key=key).reason is ReasonCode.SUCCESS
        assert at_ap1.shown_planes() == q
        panel = at_ap1

        # 3. It roams back to AP2 (its check-ins there move the label back to gateway 2),
        #    and the controller sends P again (the promotion Q ended).
        _roam(at_ap1, at_ap2)
        panel = at_ap2
        assert panel.shown_planes() == q
        if gateway2 == "restarted":
            await radio2.close()
            radio2 = _radio(served2)
        third = await _send(first.label, _frame(3, p, key), radio2)

        signed = third.answer is not None and (
            decode_response(third.answer, key=key).reason is ReasonCode.SUCCESS
        )
        assert not signed or panel.shown_planes() == p, (
            "gateway 2 signed SUCCESS for P while the panel shows Q (it took Q via AP1): "
            "AP2's stale record still says P, and the driver trusted its own memory of the "
            "tag taking P via AP2; the controller records P on a shelf showing Q"
        )
        # Nor does the gateway's health poll notice later: AP2's record is the delivery's.
        heard = await radio2.health()
        assert not drawn_over(third.label, heard[MAC])
    finally:
        await radio1.close()
        await radio2.close()


async def test_the_check_in_via_the_ap_the_tag_roamed_back_to_does_not_claim_its_old_image(
    two_aps: tuple[ServedAccessPoint, ServedAccessPoint], tmp_path: Path
) -> None:
    """P via AP2; the tag roams to AP1 and takes Q there; it roams back to AP2 and checks
    in. Gateway 2's health poll sends a signed check-in saying the label shows P (its own
    last delivery), because AP2's record of the tag did not change: the controller takes
    the label's word (the newest check-in) that it shows P. With P due again (the
    promotion Q ended), that is `match` with nothing sent, while the shelf shows Q.

    The tag stays near AP1 longer than gateway 2's silence threshold: heard again after
    it, it may have taken an image elsewhere, and the check-in claims no image."""
    served1, served2 = two_aps
    at_ap1, at_ap2 = served1.ap.tags[MAC], served2.ap.tags[MAC]
    key = generate_label_key()
    p, q = price_planes(seed=511), price_planes(seed=512)
    state2 = open_local_state(tmp_path / "gw2.sqlite")
    state2.add_labels([LabelRecord(label_id=MAC, address=MAC, model="2.9-bwr", key=key)])
    radio1, radio2 = _radio(served1), _radio(served2, ROAMING_TIMINGS)
    gateway2 = StoreGatewayProcess(
        store="S01",
        gateway="S01-ap2",
        endpoint=BrokerEndpoint("127.0.0.1", 1),  # never started: its queue is looked at
        radio=radio2,
        state=state2,
    )
    try:
        first = await _send(state2.labels()[MAC], _frame(1, p, key), radio2)
        assert first.answer is not None
        assert at_ap2.shown_planes() == p
        state2.save_label(first.label)
        gateway2._labels[MAC] = first.label

        _roam(at_ap2, at_ap1)
        gw1 = LabelRecord(label_id=MAC, address=MAC, model="2.9-bwr", key=key)
        second = await _send(gw1, _frame(2, q, key), radio1)
        assert second.answer is not None
        assert at_ap1.shown_planes() == q
        await asyncio.sleep(ROAMING_TIMINGS.silent_after_s + 0.5)  # AP2 hears nothing

        _roam(at_ap1, at_ap2)
        deadline = time.monotonic() + 5
        # It checked in at AP2 (the AP stamps whole seconds).
        while int(at_ap2.last_seen) == int(first.label.last_seen_s):
            assert time.monotonic() < deadline
            await asyncio.sleep(0.01)
        assert at_ap2.shown_planes() == q
        take_check_ins(state2)  # those of the polls before
        await gateway2._check_health(radio2)
        claims = [decode_response(payload, key=key) for payload in take_check_ins(state2)]
        check_ins = [c for c in claims if c.kind is FrameKind.CHECK_IN]
        assert check_ins, "no check-in for a tag AP2 heard"
        assert check_ins[-1].displayed_hash != content_hash(p), (
            "gateway 2 signed a check-in saying the label shows P while its panel shows Q "
            "(taken via AP1): the controller believes P is on the shelf"
        )
    finally:
        await radio1.close()
        await radio2.close()
        state2.close()


async def test_a_tag_away_shorter_than_the_silence_threshold_keeps_its_image_unredrawn(
    two_aps: tuple[ServedAccessPoint, ServedAccessPoint], tmp_path: Path
) -> None:
    """The cost side: a tag silent for less than the threshold (a few missed check-ins,
    an AP restart of a minute) forgets nothing. Its check-in still claims P, and P sent
    again with the next sequence (nothing signed elsewhere) is acknowledged without a
    transfer or a redraw: needless redraws cost batteries and flicker on the shelf."""
    served2 = two_aps[1]
    at_ap2 = served2.ap.tags[MAC]
    key = generate_label_key()
    p = price_planes(seed=521)
    state2 = open_local_state(tmp_path / "gw2.sqlite")
    state2.add_labels([LabelRecord(label_id=MAC, address=MAC, model="2.9-bwr", key=key)])
    radio2 = _radio(served2, ROAMING_TIMINGS)
    gateway2 = StoreGatewayProcess(
        store="S01",
        gateway="S01-ap2",
        endpoint=BrokerEndpoint("127.0.0.1", 1),  # never started: its queue is looked at
        radio=radio2,
        state=state2,
    )
    try:
        first = await _send(state2.labels()[MAC], _frame(1, p, key), radio2)
        assert first.answer is not None
        state2.save_label(first.label)
        gateway2._labels[MAC] = first.label

        at_ap2.checks_in = False
        await asyncio.sleep(ROAMING_TIMINGS.silent_after_s / 2)  # a short silence
        at_ap2.checks_in = True
        deadline = time.monotonic() + 5
        while int(at_ap2.last_seen) == int(first.label.last_seen_s):
            assert time.monotonic() < deadline
            await asyncio.sleep(0.01)
        take_check_ins(state2)  # those of the polls before
        await gateway2._check_health(radio2)
        claims = [decode_response(payload, key=key) for payload in take_check_ins(state2)]
        assert [c.displayed_hash for c in claims] == [content_hash(p)]

        transfers, updates = served2.ap.transfers, at_ap2.update_count
        again = await _send(gateway2._labels[MAC], _frame(2, p, key), radio2)
        assert again.answer is not None
        assert decode_response(again.answer, key=key).reason is ReasonCode.SUCCESS
        assert (served2.ap.transfers, at_ap2.update_count) == (transfers, updates)
    finally:
        await radio2.close()
        state2.close()
