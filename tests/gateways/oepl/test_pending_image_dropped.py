"""An image the access point dropped before the tag fetched it is never acknowledged.

The AP stores an upload as the tag's image at once and drops a pending image a tag never
fetched after about 20 minutes, or at once on `/tag_cmd clear`, keeping it as the tag's
image (`/current/<mac>.raw`) while the tag still shows its old one. Found by review: the
driver took "not pending, and the stored pixels are ours" as proof, so the controller's
retry of the same frame was signed SUCCESS for a price the panel never showed. Now an
upload the AP would take as no change makes the tag fetch the image again, and only an
update the tag takes confirms it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import Engine

from esl.db.models import LabelStateRow
from firmware_sim.oepl_ap.access_point import EmulatedAccessPoint, EmulatedTag
from firmware_sim.oepl_ap.http_app import ServedAccessPoint
from gateways.oepl import AccessPointClient, AccessPointDriver, DriverTimings
from gateways.oepl.models import TagCommand
from gateways.oepl.radio import OeplRadio
from gateways.protocol import (
    LabelFrame,
    ReasonCode,
    build_image_update,
    decode_response,
    encode_frame,
    generate_label_key,
)
from gateways.store_gateway.label_stand_in import Outcome, answer_frame
from gateways.store_gateway.local_state import LabelRecord
from rendering.encoding import Planes, content_hash
from tests.fixtures.mosquitto import MosquittoProcess
from tests.support.clock import wall_clock
from tests.support.oepl import FAST_AP, HW_29_BWR, price_planes, tag_mac
from tests.support.oepl_chain import OeplChain
from tests.support.pipeline import expected_planes, publish_prices

MODEL = (296, 128, True)
# The FAST_AP of tests/support/oepl.py, with the AP's 20-minute pending expiry scaled the
# same way as the driver's 150 s confirmation (x1/250): 1.2 s against 0.6 s.
AP_CONFIG = replace(FAST_AP, pending_expiry_s=1.2)
TIMINGS = DriverTimings(poll_s=0.02, confirm_timeout_s=0.6, busy_base_delay_s=0.01)


@pytest.fixture
async def served_ap() -> AsyncIterator[ServedAccessPoint]:
    ap = EmulatedAccessPoint(AP_CONFIG)
    ap.add_tag(EmulatedTag(mac=tag_mac(1), hw_type=HW_29_BWR), now=time.time())
    async with ServedAccessPoint(ap) as served:
        yield served


@pytest.fixture
async def radio(served_ap: ServedAccessPoint) -> AsyncIterator[OeplRadio]:
    radio = OeplRadio(AccessPointDriver(AccessPointClient(served_ap.url), timings=TIMINGS))
    yield radio
    await radio.close()


async def _send(label: LabelRecord, frame: bytes, radio: OeplRadio) -> Outcome:
    return await answer_frame(label, frame, radio=radio, model=MODEL, now=wall_clock())


async def _shown_old_then_missed_new(
    served_ap: ServedAccessPoint, radio: OeplRadio
) -> tuple[LabelRecord, bytes, bytes, Planes, Planes]:
    """The tag shows price A (acked); it stops checking in; price B goes out and the
    gateway, rightly, answers nothing ("never checked in")."""
    key = generate_label_key()
    label = LabelRecord(label_id=tag_mac(1), address=tag_mac(1), model="2.9-bwr", key=key)
    old, new = price_planes(seed=70), price_planes(seed=71)
    first = await _send(
        label,
        encode_frame(
            LabelFrame(tag_mac(1), 1, build_image_update(old, model_id="2.9-bwr")), key=key
        ),
        radio,
    )
    assert first.answer is not None
    assert decode_response(first.answer, key=key).reason is ReasonCode.SUCCESS
    tag = served_ap.ap.tags[tag_mac(1)]
    assert tag.shown_planes() == old

    tag.checks_in = False  # out of range (or a tag that checks in rarely)
    frame_b = encode_frame(
        LabelFrame(tag_mac(1), 2, build_image_update(new, model_id="2.9-bwr")), key=key
    )
    missed = await _send(first.label, frame_b, radio)
    assert missed.answer is None, "no ack while the tag has not taken the image"
    assert missed.label.last_sequence == 1  # the sequence stays free for the retry
    return missed.label, key, frame_b, old, new


async def _back_in_range_takes_it(
    tag: EmulatedTag, label: LabelRecord, key: bytes, frame: bytes, new: Planes, radio: OeplRadio
) -> None:
    """Back in range, the tag fetches the image at its next check-in; only then is the
    frame signed."""
    tag.checks_in = True
    taken = await _send(label, frame, radio)
    assert tag.shown_planes() == new
    assert taken.answer is not None
    answer = decode_response(taken.answer, key=key)
    assert answer.reason is ReasonCode.SUCCESS
    assert answer.displayed_hash == content_hash(new)


async def test_a_retry_after_the_ap_dropped_the_pending_image_is_not_acked(
    served_ap: ServedAccessPoint, radio: OeplRadio
) -> None:
    label, key, frame_b, old, new = await _shown_old_then_missed_new(served_ap, radio)
    tag = served_ap.ap.tags[tag_mac(1)]

    # The AP drops the image the tag never fetched (20 minutes on a real AP).
    await asyncio.sleep(AP_CONFIG.pending_expiry_s + 0.3)
    assert not tag.pending

    # The controller resends the same frame (its retry after the gateway's report).
    retry = await _send(label, frame_b, radio)

    assert tag.shown_planes() == old  # the tag never took B: it still shows A
    assert retry.answer is None  # nothing signed: the update stays open for the controller
    assert retry.label.last_sequence == 1
    await _back_in_range_takes_it(tag, label, key, frame_b, new, radio)


async def test_a_retry_after_the_pending_image_was_cleared_is_not_acked(
    served_ap: ServedAccessPoint, radio: OeplRadio
) -> None:
    label, key, frame_b, old, new = await _shown_old_then_missed_new(served_ap, radio)
    tag = served_ap.ap.tags[tag_mac(1)]

    # An operator clears the stuck pending image (`esl gateway oepl tag-command ... clear`,
    # the AP command docs/gateways.md lists for the store LAN).
    await radio.driver.command(tag_mac(1), TagCommand.CLEAR)
    assert not tag.pending

    retry = await _send(label, frame_b, radio)

    assert tag.shown_planes() == old
    assert retry.answer is None
    assert retry.label.last_sequence == 1

    await _back_in_range_takes_it(tag, label, key, frame_b, new, radio)


# ---------------------------------------------------------------- the whole chain


@pytest.fixture
async def chain_ap() -> AsyncIterator[ServedAccessPoint]:
    """Tags checking in every 50 ms; a pending image dropped after 6 s (20 min on a real
    AP; the chain's driver confirms within 3 s instead of 150 s)."""
    ap = EmulatedAccessPoint(replace(AP_CONFIG, pending_expiry_s=6.0))
    now = time.time()
    for number in range(1, 4):
        ap.add_tag(EmulatedTag(mac=tag_mac(number), hw_type=HW_29_BWR), now=now)
    async with ServedAccessPoint(ap) as served:
        yield served


@pytest.fixture
async def expiry_chain(
    engine: Engine, mosquitto: MosquittoProcess, chain_ap: ServedAccessPoint, tmp_path: Path
) -> AsyncIterator[OeplChain]:
    chain = OeplChain(engine=engine, broker=mosquitto, served=chain_ap, state_dir=tmp_path)
    yield chain
    await chain.close()


@pytest.mark.integration
async def test_the_controller_never_records_a_price_the_out_of_range_tag_did_not_take(
    expiry_chain: OeplChain,
) -> None:
    chain = expiry_chain
    await chain.import_tags()
    publish_prices(
        chain.sessions, {"MLK-1": "3.49", "CHS-1": "8.99", "CFE-1": "59.99"}, now=wall_clock()
    )
    await chain.start_gateway()
    await chain.start_controller()
    await chain.wait_converged()

    victim = tag_mac(1)
    sku = chain.bindings[victim]
    tag = chain.served.ap.tags[victim]
    old = tag.shown_planes()
    tag.checks_in = False  # the tag goes out of range
    publish_prices(chain.sessions, {sku: "1.11"}, now=wall_clock())
    with chain.sessions() as session:
        due = expected_planes(session, label_id=victim, sku=sku, at=wall_clock())
    assert due != old
    assert tag.stored_raw is not None

    # Let the controller retry (the gateway reports "never checked in" each time) for
    # well beyond the AP's keeping the pending image (6 s).
    deadline = time.monotonic() + 20
    recorded_new = False
    while time.monotonic() < deadline:
        with chain.sessions() as session:
            state = session.get(LabelStateRow, victim)
            assert state is not None
            recorded_new = state.displayed_hash == content_hash(due).hex()
        if recorded_new:
            break
        await asyncio.sleep(0.2)

    # The tag never checked in: its panel still shows the old price.
    assert tag.shown_planes() == old
    # So the controller must not record it as showing the new one.
    assert not recorded_new, (
        "controller records the new price as displayed on a tag that never took it "
        "(it still shows the old price)"
    )
