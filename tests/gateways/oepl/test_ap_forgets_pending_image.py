"""An image the AP lost the pending mark of before the tag took it is never acknowledged.

A real AP keeps its pending marks in RAM: on a restart it reloads its tag database (the
`hash` of the image stored for each tag, the stored `/current/<mac>.raw`) with every
`pending` 0, and a transfer the radio was carrying is abandoned; `/tag_cmd clear` drops
the mark at once. The AP's record then says "not pending, and it stores our pixels" while
the tag shows its old image. Found by a hunter: the driver took that as proof for a fresh
upload and signed SUCCESS, so the controller recorded a price the shelf never showed (and
the gateway kept the tag's old update as that delivery's, so its health poll never
noticed). Now every push is confirmed only by an update the tag took since the push
began; a record that settled on our pixels without one makes the tag fetch the image.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import replace

import pytest

from esl.audit.classify import AuditClass
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
from gateways.store_gateway.label_stand_in import Outcome, answer_frame, drawn_over
from gateways.store_gateway.local_state import LabelRecord
from rendering.encoding import Planes
from tests.support.audit import audit_by_label
from tests.support.clock import wall_clock
from tests.support.oepl import FAST_AP, HW_29_BWR, price_planes, tag_mac
from tests.support.oepl_chain import OeplChain
from tests.support.pipeline import expected_planes, publish_prices

MODEL = (296, 128, True)
TIMINGS = DriverTimings(poll_s=0.02, confirm_timeout_s=1.5, busy_base_delay_s=0.01)
# A slow radio (a transfer takes about 0.5 s) so that a restart can fall in the middle.
AP_CONFIG = replace(FAST_AP, check_in_interval_s=0.1, radio_bytes_per_s=4_000)


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


def _restart(ap: EmulatedAccessPoint) -> None:
    """The AP restarts: its database comes back from flash with every pending mark 0, the
    radio's transfer in progress is gone; the stored images and their hashes are kept."""
    ap._radio_mac = None  # the transfer dies with the AP
    for tag in ap.tags.values():
        tag.pending = False


async def _until(predicate: Callable[[], bool], timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.002)


async def _send(label: LabelRecord, frame: bytes, radio: OeplRadio) -> Outcome:
    return await answer_frame(label, frame, radio=radio, model=MODEL, now=wall_clock())


def _frame(sequence: int, planes: Planes, key: bytes) -> bytes:
    return encode_frame(
        LabelFrame(tag_mac(1), sequence, build_image_update(planes, model_id="2.9-bwr")), key=key
    )


async def _price_b_on_its_way(
    served_ap: ServedAccessPoint, radio: OeplRadio, *, seed: int, awake: bool
) -> tuple[LabelRecord, bytes, Planes, Planes, asyncio.Task[Outcome]]:
    """The tag shows price A (acked); price B is uploaded and pending at the AP."""
    tag = served_ap.ap.tags[tag_mac(1)]
    key = generate_label_key()
    label = LabelRecord(label_id=tag_mac(1), address=tag_mac(1), model="2.9-bwr", key=key)
    old, new = price_planes(seed=seed), price_planes(seed=seed + 1)
    first = await _send(label, _frame(1, old, key), radio)
    assert first.answer is not None
    assert decode_response(first.answer, key=key).reason is ReasonCode.SUCCESS
    assert tag.shown_planes() == old
    md5_old = tag.record_md5
    tag.checks_in = awake
    pushing = asyncio.create_task(_send(first.label, _frame(2, new, key), radio))
    await _until(lambda: tag.record_md5 != md5_old)  # stored, pending
    assert tag.pending
    return first.label, key, old, new, pushing


async def test_an_ap_restart_before_the_asleep_tag_fetched_b_is_not_acked(
    served_ap: ServedAccessPoint, radio: OeplRadio
) -> None:
    tag = served_ap.ap.tags[tag_mac(1)]
    _label, key, old, new, pushing = await _price_b_on_its_way(
        served_ap, radio, seed=80, awake=False
    )
    _restart(served_ap.ap)
    outcome = await pushing

    assert tag.shown_planes() == old  # the tag never took B
    assert outcome.answer is None, (
        "gateway signed an answer for an image the tag never took (the AP lost its "
        "pending mark): the controller would record the new price while the shelf shows A"
    )
    assert outcome.report is not None  # the controller hears why and retries
    assert outcome.label.last_sequence == 1

    # Back in range, the controller's retry of the same frame puts B on the shelf, and
    # the gateway keeps the update in which the tag took it: its health poll agrees.
    tag.checks_in = True
    retry = await _send(outcome.label, _frame(2, new, key), radio)
    assert tag.shown_planes() == new
    assert retry.answer is not None
    assert decode_response(retry.answer, key=key).reason is ReasonCode.SUCCESS
    assert retry.label.radio_updates == tag.update_count == 2
    heard = await radio.health()
    assert not drawn_over(retry.label, heard[tag_mac(1)])


@pytest.mark.parametrize("lost", ["restart_mid_transfer", "operator_clear"])
async def test_a_pending_mark_lost_while_the_tag_is_awake_is_acked_only_once_it_took_b(
    served_ap: ServedAccessPoint, radio: OeplRadio, lost: str
) -> None:
    ap = served_ap.ap
    tag = ap.tags[tag_mac(1)]
    _label, key, old, new, pushing = await _price_b_on_its_way(
        served_ap, radio, seed=84, awake=True
    )
    if lost == "restart_mid_transfer":
        await _until(lambda: ap._radio_mac == tag.mac)  # the radio carries B
        _restart(ap)
    else:
        await radio.driver.command(tag_mac(1), TagCommand.CLEAR)
    assert tag.shown_planes() == old
    outcome = await pushing

    # The driver made the tag fetch B again; the ack came once the panel showed it.
    assert outcome.answer is not None
    assert decode_response(outcome.answer, key=key).reason is ReasonCode.SUCCESS
    assert tag.shown_planes() == new, "SUCCESS signed while the tag still shows A"
    assert outcome.label.radio_updates == tag.update_count
    heard = await radio.health()
    assert not drawn_over(outcome.label, heard[tag_mac(1)])


async def test_an_update_to_the_image_pending_before_ours_is_not_taken_for_ours(
    served_ap: ServedAccessPoint, radio: OeplRadio, monkeypatch: pytest.MonkeyPatch
) -> None:
    """B went unconfirmed (the tag asleep) and stays pending; C is pushed. The tag wakes
    and takes B just before C is stored, then the AP restarts: its record shows C, nothing
    pending and an update since C's push began, which was B's."""
    tag = served_ap.ap.tags[tag_mac(1)]
    _label, key, _old, b, pushing = await _price_b_on_its_way(
        served_ap, radio, seed=88, awake=False
    )
    missed = await pushing
    assert missed.answer is None
    assert tag.pending
    c = price_planes(seed=90)
    client = radio.driver.client
    real_upload = client.upload

    async def upload_after_the_tag_took_b(mac: str, jpeg: bytes) -> None:
        tag.checks_in = True
        await _until(lambda: tag.update_count == 2)
        tag.checks_in = False
        await real_upload(mac, jpeg)
        _restart(served_ap.ap)

    monkeypatch.setattr(client, "upload", upload_after_the_tag_took_b)
    outcome = await _send(missed.label, _frame(3, c, key), radio)

    assert tag.shown_planes() == b  # the tag took B, never C
    assert outcome.answer is None, "C acknowledged on the strength of the tag taking B"
    assert outcome.report is not None


# ---------------------------------------------------------------- the whole chain


@pytest.mark.integration
async def test_the_audit_never_says_match_while_the_tag_shows_the_price_before_the_restart(
    oepl_chain: OeplChain,
) -> None:
    """Controller, Mosquitto, the gateway and the emulated AP: the AP restarts while the
    new price is pending for a sleeping tag. The audit must not call the label a match
    while its panel shows the old price; once the tag is back, the controller's retry
    puts the new price on it and only then does the audit say match."""
    chain = oepl_chain
    await chain.import_tags()
    publish_prices(
        chain.sessions, {"MLK-1": "3.49", "CHS-1": "8.99", "CFE-1": "59.99"}, now=wall_clock()
    )
    await chain.start_gateway()
    await chain.start_controller()
    await chain.wait_converged()

    victim = next(iter(chain.bindings))
    sku = chain.bindings[victim]
    ap = chain.served.ap
    tag = ap.tags[victim]
    old = tag.shown_planes()
    md5_old = tag.record_md5
    tag.checks_in = False  # asleep, or briefly out of range
    publish_prices(chain.sessions, {sku: "1.11"}, now=wall_clock())
    with chain.sessions() as session:
        due = expected_planes(session, label_id=victim, sku=sku, at=wall_clock())
    assert due != old
    await _until(lambda: tag.record_md5 != md5_old, timeout_s=30)  # uploaded, pending
    _restart(ap)

    def audit_says_match() -> bool:
        verdict = audit_by_label(chain.sessions, wall_clock())[victim]
        matched = verdict.audit_class is AuditClass.MATCH and verdict.shows_due
        assert not matched or tag.shown_planes() == due, (
            "the audit says match (new price 1.11 recorded as shown) while the tag still "
            "shows the price from before the AP's restart"
        )
        return matched

    # Longer than the gateway's confirmation (3 s): it reports, the controller retries.
    asleep_until = time.monotonic() + 6
    while time.monotonic() < asleep_until:
        assert not audit_says_match()
        await asyncio.sleep(0.2)
    assert tag.shown_planes() == old

    tag.checks_in = True
    deadline = time.monotonic() + 40
    while not audit_says_match():
        assert time.monotonic() < deadline, "the new price never reached the tag"
        await asyncio.sleep(0.2)
    assert tag.shown_planes() == due
