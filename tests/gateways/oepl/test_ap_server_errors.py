"""One server error from the AP is not "a tag the AP refused for good".

An AP that is rebooting or out of heap answers a request with HTTP 500/503, often an HTML
page. docs/gateways.md step 7 keeps a signed UNSPECIFIED_ERROR for an AP that refuses for
good (unknown MAC, wrong size): the controller parks that update as `rejected` and never
retries it, so the shelf would keep the old price until the next price change. Found by a
hunter: the client took any status but 200 as a refusal, and the radio makes every
refusal final. Now a 5xx, or an answer the AP's handlers never give (an HTML page), is an
`AccessPointError`: the gateway reports it unsigned, and the controller's retry works.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import httpx
import pytest

from firmware_sim.oepl_ap.access_point import EmulatedAccessPoint, EmulatedTag, UploadAnswer
from firmware_sim.oepl_ap.http_app import ServedAccessPoint
from gateways.oepl import AccessPointClient, AccessPointDriver, DriverTimings
from gateways.oepl.errors import AccessPointError, TagRefusedError
from gateways.oepl.radio import OeplRadio
from gateways.protocol import (
    LabelFrame,
    ReasonCode,
    build_image_update,
    decode_response,
    encode_frame,
    generate_label_key,
)
from gateways.store_gateway.label_stand_in import answer_frame
from gateways.store_gateway.local_state import LabelRecord
from tests.support.clock import wall_clock
from tests.support.oepl import FAST_AP, HW_29_BWR, price_planes, tag_mac

MODEL = (296, 128, True)
TIMINGS = DriverTimings(poll_s=0.02, confirm_timeout_s=1.0, busy_base_delay_s=0.01)
HTML_503 = "<html><body><h1>503 Service Unavailable</h1></body></html>"


@pytest.fixture
async def served_ap() -> AsyncIterator[ServedAccessPoint]:
    ap = EmulatedAccessPoint(FAST_AP)
    ap.add_tag(EmulatedTag(mac=tag_mac(1), hw_type=HW_29_BWR), now=time.time())
    async with ServedAccessPoint(ap) as served:
        yield served


@pytest.fixture
async def radio(served_ap: ServedAccessPoint) -> AsyncIterator[OeplRadio]:
    radio = OeplRadio(AccessPointDriver(AccessPointClient(served_ap.url), timings=TIMINGS))
    yield radio
    await radio.close()


@pytest.mark.parametrize("endpoint", ["imgupload", "current"])
async def test_one_server_error_from_the_ap_is_reported_and_the_retry_shows_the_image(
    served_ap: ServedAccessPoint, radio: OeplRadio, endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ap = served_ap.ap
    failures = {"left": 1}
    if endpoint == "imgupload":
        real_upload = ap.upload

        def upload(mac: str, image: bytes, *, dither: int, now: float) -> UploadAnswer:
            if failures["left"]:
                failures["left"] -= 1
                return UploadAnswer(503, HTML_503)
            return real_upload(mac, image, dither=dither, now=now)

        monkeypatch.setattr(ap, "upload", upload)
    else:
        real_current = ap.current_raw

        def current_raw(mac: str) -> bytes | None:
            if failures["left"]:
                failures["left"] -= 1
                raise RuntimeError("AP out of heap")  # the server answers 500
            return real_current(mac)

        monkeypatch.setattr(ap, "current_raw", current_raw)

    key = generate_label_key()
    label = LabelRecord(label_id=tag_mac(1), address=tag_mac(1), model="2.9-bwr", key=key)
    planes = price_planes(seed=90)
    frame = encode_frame(
        LabelFrame(tag_mac(1), 1, build_image_update(planes, model_id="2.9-bwr")), key=key
    )
    outcome = await answer_frame(label, frame, radio=radio, model=MODEL, now=wall_clock())
    assert failures["left"] == 0  # the AP did fail once
    signed = None if outcome.answer is None else decode_response(outcome.answer, key=key)
    assert signed is None, (
        f"one HTTP 5xx from /{endpoint} was signed as a final refusal "
        f"({signed.reason.name if signed else None}); the controller parks the update as "
        "rejected and never retries it"
    )
    assert outcome.report is not None  # unsigned: the controller retries
    assert outcome.label.last_sequence == 0  # the sequence stays free for the retry

    retry = await answer_frame(outcome.label, frame, radio=radio, model=MODEL, now=wall_clock())
    assert retry.answer is not None
    assert decode_response(retry.answer, key=key).reason is ReasonCode.SUCCESS
    assert ap.tags[tag_mac(1)].shown_planes() == planes


def _answering(status: int, body: str) -> AccessPointClient:
    client = AccessPointClient("http://ap.invalid")
    client._http = httpx.AsyncClient(  # an AP that answers only this
        base_url=client.base_url,
        transport=httpx.MockTransport(lambda _request: httpx.Response(status, text=body)),
    )
    return client


@pytest.mark.parametrize(
    ("status", "body"),
    [(500, "Internal Server Error"), (503, HTML_503), (200, HTML_503), (404, HTML_503)],
)
async def test_a_server_error_or_a_page_the_ap_never_sends_may_work_later(
    status: int, body: str
) -> None:
    client = _answering(status, body)
    try:
        with pytest.raises(AccessPointError) as raised:
            await client.upload(tag_mac(1), b"jpeg")
    finally:
        await client.close()
    assert not isinstance(raised.value, TagRefusedError)
    assert f"HTTP {status}" in str(raised.value)


@pytest.mark.parametrize(
    ("status", "body"), [(400, "mac not found"), (200, "Error while saving: mac not found")]
)
async def test_the_aps_own_refusal_stays_final(status: int, body: str) -> None:
    client = _answering(status, body)
    try:
        with pytest.raises(TagRefusedError, match="mac not found"):
            await client.upload(tag_mac(1), b"jpeg")
    finally:
        await client.close()
