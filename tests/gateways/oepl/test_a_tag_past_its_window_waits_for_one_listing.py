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
import threading
import time

import pytest

from esl.bench._delayed_link import DelayedLink, Direction
from firmware_sim.oepl_ap.access_point import AccessPointConfig, EmulatedAccessPoint, EmulatedTag
from firmware_sim.oepl_ap.http_app import ServedAccessPoint
from gateways.oepl import AccessPointClient, AccessPointDriver, DriverTimings
from gateways.oepl.errors import TagParkedError
from tests.support.oepl import HW_29_BWR, price_planes, tag_mac

TAG = tag_mac(1)
TIMINGS = DriverTimings(poll_s=0.05, confirm_timeout_s=5.0, busy_base_delay_s=0.01)
# A listing's first page, as the driver's watcher asks for it (a tag's own read has `?mac=`).
LISTING = b"GET /get_db HTTP/1.1"


class _Listings:
    """The listings that reached the AP, counted from the link's thread."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._lock = threading.Lock()
        self._count = 0
        self.first = asyncio.Event()

    def observe(self, _connection: int, direction: Direction, data: bytes) -> None:
        if direction is Direction.TO_SERVER and LISTING in data:
            with self._lock:
                self._count += 1
            self._loop.call_soon_threadsafe(self.first.set)

    @property
    def count(self) -> int:
        with self._lock:
            return self._count


@pytest.mark.parametrize("ap_gone", [False, True], ids=["listing read", "listing failed"])
async def test_a_tag_past_its_window_is_given_up_by_the_next_listing(ap_gone: bool) -> None:
    ap = EmulatedAccessPoint(AccessPointConfig(radio_bytes_per_s=2_000_000, page_size=3))
    ap.add_tag(EmulatedTag(mac=TAG, hw_type=HW_29_BWR, checks_in=False), now=time.time())
    gateway_now = [1000.0]  # the driver's clock, moved by the test
    listings = _Listings(asyncio.get_running_loop())

    async with ServedAccessPoint(ap) as served:
        with DelayedLink(
            "127.0.0.1", served.port, to_server_s=0.0, to_client_s=0.0, observe=listings.observe
        ) as link:
            driver = AccessPointDriver(
                AccessPointClient(f"http://{link.host}:{link.port}"),
                timings=TIMINGS,
                clock=lambda: gateway_now[0],
            )
            try:
                push = asyncio.create_task(
                    driver.push_image(TAG, price_planes(seed=3), model="2.9-bwr")
                )
                # The watcher lists the AP only once the upload was answered: the push waits.
                await asyncio.wait_for(listings.first.wait(), timeout=30)
                if ap_gone:
                    await served.stop()  # every listing from now on fails
                seen_before = listings.count
                gateway_now[0] += TIMINGS.confirm_timeout_s + 1  # the window closes
                with pytest.raises(TagParkedError) as parked:
                    await asyncio.wait_for(push, timeout=30)
                after_window = listings.count - seen_before
            finally:
                await driver.close()
    assert "never checked in" in str(parked.value)
    assert after_window <= 2
