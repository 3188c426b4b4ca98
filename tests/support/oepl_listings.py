"""A push's wait on the AP's listings, as a test drives it: an emulated AP with one tag
that does not check in, served behind a link that counts the driver's listings of the AP
as they reach it, and a driver on the test's clock."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from esl.bench._delayed_link import DelayedLink, Direction
from firmware_sim.oepl_ap.access_point import AccessPointConfig, EmulatedAccessPoint, EmulatedTag
from firmware_sim.oepl_ap.http_app import ServedAccessPoint
from gateways.oepl import AccessPointClient, AccessPointDriver, DriverTimings
from tests.support.oepl import HW_29_BWR, tag_mac

__all__ = ["LISTING", "TAG", "TIMINGS", "ListedAp", "Listings", "listed_ap", "silent_tag_ap"]

TAG = tag_mac(1)
TIMINGS = DriverTimings(poll_s=0.05, confirm_timeout_s=5.0, busy_base_delay_s=0.01)
# A listing's first page, as the driver's watcher asks for it (a tag's own read has `?mac=`).
LISTING = b"GET /get_db HTTP/1.1"


class Listings:
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


def silent_tag_ap() -> tuple[EmulatedAccessPoint, EmulatedTag]:
    """An AP with `TAG`, a 2.9" BWR tag that does not check in until told to."""
    ap = EmulatedAccessPoint(AccessPointConfig(radio_bytes_per_s=2_000_000, page_size=3))
    tag = ap.add_tag(EmulatedTag(mac=TAG, hw_type=HW_29_BWR, checks_in=False), now=time.time())
    return ap, tag


@dataclass(frozen=True)
class ListedAp:
    served: ServedAccessPoint
    link: DelayedLink  # between the driver and the AP: `held` keeps the AP's answers back
    driver: AccessPointDriver
    listings: Listings


@asynccontextmanager
async def listed_ap(ap: EmulatedAccessPoint, clock: Callable[[], float]) -> AsyncIterator[ListedAp]:
    """`ap` served behind a link counting its listings, and a driver (`TIMINGS`) reading
    `clock`; the driver closed at the end."""
    listings = Listings(asyncio.get_running_loop())
    async with ServedAccessPoint(ap) as served:
        with DelayedLink(
            "127.0.0.1", served.port, to_server_s=0.0, to_client_s=0.0, observe=listings.observe
        ) as link:
            driver = AccessPointDriver(
                AccessPointClient(f"http://{link.host}:{link.port}"), timings=TIMINGS, clock=clock
            )
            try:
                yield ListedAp(served, link, driver, listings)
            finally:
                await driver.close()
