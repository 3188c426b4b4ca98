"""How long a push waits for a tag past its confirm window: until the end of the first
listing of the AP begun after the window closed (`AccessPointDriver._confirm`), read or
failed. So a tag that never takes its image is given up at most one listing in flight,
one watcher pause and one more listing after its window: the listings that begin once
the window closed each release it, however they overlap, and a listing that fails
releases it as one that is read does.

The driver's clock is the test's; the listings are counted on the link as they reach the
AP. A tag's window is closed with a listing just observed (it may have begun before the
window closed): the push is given up before a third listing reaches the AP."""

from __future__ import annotations

import asyncio

import pytest

from gateways.oepl.errors import TagParkedError
from tests.support.oepl import price_planes
from tests.support.oepl_listings import TAG, TIMINGS, listed_ap, silent_tag_ap


@pytest.mark.parametrize("ap_gone", [False, True], ids=["listing read", "listing failed"])
async def test_a_tag_past_its_window_is_given_up_by_the_next_listing(ap_gone: bool) -> None:
    ap, _ = silent_tag_ap()
    gateway_now = [1000.0]  # the driver's clock, moved by the test

    async with listed_ap(ap, clock=lambda: gateway_now[0]) as listed:
        push = asyncio.create_task(
            listed.driver.push_image(TAG, price_planes(seed=3), model="2.9-bwr")
        )
        # The watcher lists the AP only once the upload was answered: the push waits.
        await asyncio.wait_for(listed.listings.first.wait(), timeout=30)
        if ap_gone:
            await listed.served.stop()  # every listing from now on fails
        seen_before = listed.listings.count
        gateway_now[0] += TIMINGS.confirm_timeout_s + 1  # the window closes
        with pytest.raises(TagParkedError) as parked:
            await asyncio.wait_for(push, timeout=30)
        after_window = listed.listings.count - seen_before
    assert "never checked in" in str(parked.value)
    assert after_window <= 2
