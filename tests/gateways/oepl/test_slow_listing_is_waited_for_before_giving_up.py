"""A push's confirm window closing while the driver's listing of the AP is still on its way
(a loaded gateway machine, a slow AP web server) must not give the tag up on a record read
before: the tag may have taken the image meanwhile.

Seen under load in tests/gateways/oepl/test_controller_waits_for_a_busy_access_point.py:
sixty workers' requests held the watcher's listing of the AP for about five seconds, the
scaled 7.5 s window of a tag closed with no listing read since its upload, and the driver
gave it up, naming the record read before the upload ("the AP did not store the image").
The tag had taken the image; the controller's retry of the frame then had it fetched and
drawn a second time (a refresh costs the tag battery and the shopper sees a flicker).

Here the driver's clock is the test's and the listing is held on a link: the window
closes while the only listing begun since the upload waits, and the tag takes the image
before the listing comes back."""

from __future__ import annotations

import asyncio
import time

from esl.bench._delayed_link import Direction
from tests.support.oepl import price_planes
from tests.support.oepl_listings import TAG, TIMINGS, listed_ap, silent_tag_ap
from tests.support.waiting import until


async def test_a_tag_that_took_its_image_while_the_listing_was_slow_is_not_given_up() -> None:
    ap, tag = silent_tag_ap()
    gateway_now = [1000.0]  # the driver's clock, moved by the test

    async with listed_ap(ap, clock=lambda: gateway_now[0]) as listed:
        planes = price_planes(seed=5)
        push = asyncio.create_task(listed.driver.push_image(TAG, planes, model="2.9-bwr"))
        # The watcher lists the AP only once the upload was answered: the push waits.
        await asyncio.wait_for(listed.listings.first.wait(), timeout=30)
        assert tag.pending
        with listed.link.held(Direction.TO_CLIENT):
            gateway_now[0] += TIMINGS.confirm_timeout_s + 1  # the window closes
            tag.checks_in, tag.next_checkin = True, time.time()
            await until(lambda: tag.update_count == 1, what="the tag took its image", timeout_s=30)
            # The driver's waits run out in real time meanwhile (it looks again
            # every two polls), with the listing still held.
            await asyncio.sleep(TIMINGS.poll_s * 6)
        delivery = await asyncio.wait_for(push, timeout=30)
    assert delivery.record.update_count == 1
    assert tag.update_count == 1  # drawn once
    assert tag.shown_planes() == planes
