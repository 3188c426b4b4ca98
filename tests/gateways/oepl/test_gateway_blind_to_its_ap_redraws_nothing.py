"""Review37: a gateway that could not read its AP for longer than `silent_after_s` (the
AP's web server out of heap / answering 5xx, the LAN between gateway host and AP down,
the gateway host suspended) while the tag checked in at that AP every interval, as it
always did, is not a tag that "was silent on this AP" (docs/gateways.md, A tag roaming
between the APs of a store). The driver measures a tag's silence from its own reads
(AccessPointDriver._note_heard: now - when it last saw `lastseen` change), so its own
blindness is taken for the tag's silence: after the outage every tag the AP lists is
`returned`, check-ins claim no image (the audit forgets every panel of the AP) and the
same image is sent the refresh way (a full redraw of every tag of the AP).
docs/gateways.md: "Each costs at most one redraw of the tag, and only when it happens: a
shorter silence (... an AP or gateway restart of a minute) forgets nothing", and a gateway
restarted after the same outage forgets nothing either."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from firmware_sim.oepl_ap.access_point import EmulatedAccessPoint, EmulatedTag
from firmware_sim.oepl_ap.http_app import ServedAccessPoint
from gateways.mqtt.endpoint import BrokerEndpoint
from gateways.oepl.radio import OeplRadio
from gateways.protocol import ReasonCode, decode_response, generate_label_key
from gateways.store_gateway.local_state import LabelRecord, LocalState
from gateways.store_gateway.process import StoreGatewayProcess, open_local_state
from rendering.encoding import Planes, content_hash
from tests.gateways.oepl.test_roaming_between_two_aps import (
    AP_CONFIG,
    MAC,
    ROAMING_TIMINGS,
    _frame,
    _radio,
    _send,
)
from tests.support.oepl import HW_29_BWR, price_planes, take_check_ins


@pytest.fixture
async def one_ap() -> AsyncIterator[ServedAccessPoint]:
    ap = EmulatedAccessPoint(AP_CONFIG)
    ap.add_tag(EmulatedTag(mac=MAC, hw_type=HW_29_BWR, checks_in=True), now=time.time())
    async with ServedAccessPoint(ap) as served:
        yield served


async def _heard_once(
    served: ServedAccessPoint, tmp_path: Path, key: bytes, planes: Planes
) -> tuple[StoreGatewayProcess, OeplRadio, LocalState]:
    """A gateway over the AP (never started: its outbox is looked at) that delivered
    `planes` to the tag, then polled once and heard it."""
    state = open_local_state(tmp_path / "gw.sqlite")
    state.add_labels([LabelRecord(label_id=MAC, address=MAC, model="2.9-bwr", key=key)])
    radio = _radio(served, ROAMING_TIMINGS)
    gateway = StoreGatewayProcess(
        store="S01",
        gateway="S01-ap1",
        endpoint=BrokerEndpoint("127.0.0.1", 1),
        radio=radio,
        state=state,
    )
    first = await _send(state.labels()[MAC], _frame(1, planes, key), radio)
    assert first.answer is not None
    state.save_label(first.label)
    gateway._labels[MAC] = first.label
    await gateway._check_health(radio)
    return gateway, radio, state


async def _polls_for(gateway: StoreGatewayProcess, radio: OeplRadio, seconds: float) -> None:
    """The health poll, every 0.2 s for `seconds`."""
    ends = time.monotonic() + seconds
    while time.monotonic() < ends:
        await gateway._check_health(radio)
        await asyncio.sleep(0.2)


async def _ap_unreadable(
    served: ServedAccessPoint,
    gateway: StoreGatewayProcess,
    radio: OeplRadio,
    monkeypatch: pytest.MonkeyPatch,
    seconds: float,
) -> None:
    """The AP's web server fails (500: "out of heap") for `seconds` while the health poll
    keeps trying; the tags check in at the AP as ever."""
    real_records = served.ap.records

    def records(*args: object, **kwargs: object) -> object:
        raise RuntimeError("AP out of heap")

    monkeypatch.setattr(served.ap, "records", records)
    await _polls_for(gateway, radio, seconds)
    monkeypatch.setattr(served.ap, "records", real_records)


async def test_a_tag_checking_in_all_along_is_not_returned_after_the_gateway_could_not_read_the_ap(
    one_ap: ServedAccessPoint, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    served = one_ap
    tag = served.ap.tags[MAC]
    key = generate_label_key()
    p = price_planes(seed=731)
    gateway, radio, state = await _heard_once(served, tmp_path, key, p)
    try:
        # The AP's web server fails (500) for longer than silent_after_s; the health poll
        # keeps trying every interval. The tag keeps checking in at the AP all along.
        await _ap_unreadable(
            served, gateway, radio, monkeypatch, ROAMING_TIMINGS.silent_after_s + 1.0
        )
        assert tag.checks_in

        # The AP answers again: nothing happened to the tag.
        take_check_ins(state)  # those of the polls before
        await gateway._check_health(radio)
        claims = [decode_response(payload, key=key) for payload in take_check_ins(state)]
        assert [c.displayed_hash for c in claims] == [content_hash(p)], (
            "after the gateway could not read its AP for a while, its check-in claims no "
            "image for a tag that checked in at that AP all along: the controller forgets "
            "the panel (audit no longer match) and sends the image again"
        )
        transfers, updates = served.ap.transfers, tag.update_count
        again = await _send(gateway._labels[MAC], _frame(2, p, key), radio)
        assert again.answer is not None
        assert decode_response(again.answer, key=key).reason is ReasonCode.SUCCESS
        assert (served.ap.transfers, tag.update_count) == (transfers, updates), (
            "the same image, next sequence, was transferred and redrawn: a needless redraw "
            "of every tag of the AP after the gateway's own outage"
        )
    finally:
        await radio.close()
        state.close()


async def test_a_tag_silent_through_the_gateways_outage_counts_it_as_silence(
    one_ap: ServedAccessPoint, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The other side: a tag that stopped checking in (it went to another AP) before the
    gateway lost its AP, and is still unheard when the reads come back (its `lastseen`
    unchanged), was silent through the outage as the AP's record shows. Heard again once
    the silence is longer than `silent_after_s`, it is `returned` as ever: its check-in
    claims no image (it may have taken one elsewhere)."""
    served = one_ap
    tag = served.ap.tags[MAC]
    key = generate_label_key()
    p = price_planes(seed=733)
    gateway, radio, state = await _heard_once(served, tmp_path, key, p)
    try:
        tag.checks_in = False  # away at another AP from now on
        await _ap_unreadable(
            served, gateway, radio, monkeypatch, ROAMING_TIMINGS.silent_after_s * 0.75
        )
        # Read again: the AP still has not heard the tag; the polls go on a while.
        await _polls_for(gateway, radio, ROAMING_TIMINGS.silent_after_s * 0.5)

        stamp = int(tag.last_seen)
        tag.checks_in = True  # back
        deadline = time.monotonic() + 5
        while int(tag.last_seen) == stamp:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.01)
        take_check_ins(state)  # those of the polls before
        await gateway._check_health(radio)
        claims = [decode_response(payload, key=key) for payload in take_check_ins(state)]
        assert claims, "no check-in for a tag the AP heard"
        assert claims[-1].displayed_hash is None, (
            "a tag unheard through the gateway's outage and after it, longer than "
            "silent_after_s in all, checked in claiming the image it had before it left"
        )
    finally:
        await radio.close()
        state.close()
