"""Eighty tags on one access point, all given a new image at once, at a twentieth of
real time: the AP carries one image at a time, so most tags wait their turn at the
radio for longer than the driver's confirm window. A tag that only waited its turn is
not given up on (before, about 40 % were parked as "never checked in" and their
update sent again, so a tag drew its image twice); a tag that never checks in still is,
a confirm window after the radio was free for it."""

from __future__ import annotations

import asyncio
import time

from firmware_sim.oepl_ap.access_point import AccessPointConfig, EmulatedAccessPoint, EmulatedTag
from firmware_sim.oepl_ap.http_app import ServedAccessPoint
from gateways.oepl import AccessPointClient, AccessPointDriver, DriverTimings, TagParkedError
from tests.support.oepl import HW_29_BWR, price_planes, tag_mac

SCALE = 20.0  # 20 times faster than a real AP and its tags
TAGS = 80
# A real AP: check-ins every 40 s, 5 kB/s, old tags taking raw planes (9,472 bytes: about
# 2 s of radio each), so eighty images take over two and a half minutes of radio time alone.
REAL_AP = AccessPointConfig(
    check_in_interval_s=40.0 / SCALE,
    radio_bytes_per_s=5_000.0 * SCALE,
    upload_processing_s=0.0,
    page_size=50,
    zlib_transfers=False,
)
# The driver's defaults (150 s: about three check-ins), scaled.
TIMINGS = DriverTimings(poll_s=0.02, confirm_timeout_s=150.0 / SCALE, busy_base_delay_s=0.01)


async def test_eighty_tags_waiting_for_the_radio_are_confirmed_not_parked() -> None:
    ap = EmulatedAccessPoint(REAL_AP)
    now = time.time()
    tags = [
        ap.add_tag(EmulatedTag(mac=tag_mac(n), hw_type=HW_29_BWR), now=now) for n in range(TAGS)
    ]
    macs = [tag.mac for tag in tags]
    silent = ap.add_tag(EmulatedTag(mac=tag_mac(TAGS), hw_type=HW_29_BWR), now=now)
    silent.checks_in = False
    async with ServedAccessPoint(ap, tick_s=0.005) as served:
        driver = AccessPointDriver(AccessPointClient(served.url), timings=TIMINGS)
        try:
            outcomes = await asyncio.gather(
                *(
                    driver.push_image(mac, price_planes(seed=n), model="2.9-bwr")
                    for n, mac in enumerate([*macs, silent.mac], start=1)
                ),
                return_exceptions=True,
            )
        finally:
            await driver.close()
    parked = [
        mac
        for mac, outcome in zip(macs, outcomes[:TAGS], strict=True)
        if isinstance(outcome, BaseException)
    ]
    assert parked == [], (
        f"{len(parked)} of {TAGS} tags given up on: {outcomes[macs.index(parked[0])]}"
    )
    for n, mac in enumerate(macs, start=1):
        assert ap.tags[mac].shown_planes() == price_planes(seed=n)
        assert ap.tags[mac].update_count == 1  # drawn once
    # The tag that never checks in is still given up on, with its reason.
    assert isinstance(outcomes[-1], TagParkedError)
    assert "never checked in" in str(outcomes[-1])
