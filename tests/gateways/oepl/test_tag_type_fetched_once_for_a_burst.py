"""A burst of pushes to tags of one type asks the AP for that type once.

Each push reads its tag's type before the upload (`AccessPointDriver.tag_type`). The
driver kept a type once it had it, but every push that asked while the first answer was
on its way sent its own `GET /tagtypes/..`: the sixty workers of the busy-AP test, or a
store's price change over a hundred tags, sent that many requests to an AP that answers
one at a time, in front of the uploads and the listing the waiting pushes need. Now the
pushes that ask meanwhile wait for the one request in flight.

The tags' reads are held on the link until every push has asked for its tag, so all of
them look for the type together."""

from __future__ import annotations

import asyncio
import threading
import time

from esl.bench._delayed_link import DelayedLink, Direction
from firmware_sim.oepl_ap.access_point import AccessPointConfig, EmulatedAccessPoint, EmulatedTag
from firmware_sim.oepl_ap.http_app import ServedAccessPoint
from gateways.oepl import AccessPointClient, AccessPointDriver, DriverTimings
from tests.support.oepl import HW_29_BWR, price_planes, tag_mac

TAGS = 12
TIMINGS = DriverTimings(poll_s=0.02, confirm_timeout_s=30.0, busy_base_delay_s=0.01)
TAG_READ = b"GET /get_db?mac="
TYPE_READ = b"GET /tagtypes/"


async def test_a_burst_of_pushes_reads_the_tag_type_once() -> None:
    ap = EmulatedAccessPoint(
        AccessPointConfig(check_in_interval_s=0.2, radio_bytes_per_s=2_000_000, page_size=5)
    )
    now = time.time()
    macs = [
        ap.add_tag(EmulatedTag(mac=tag_mac(n), hw_type=HW_29_BWR), now=now).mac
        for n in range(1, TAGS + 1)
    ]
    loop = asyncio.get_running_loop()
    asked = asyncio.Event()
    counted = {TAG_READ: 0, TYPE_READ: 0}
    lock = threading.Lock()

    def observe(_connection: int, direction: Direction, data: bytes) -> None:
        if direction is not Direction.TO_SERVER:
            return
        with lock:
            for request in counted:
                counted[request] += data.count(request)
            if counted[TAG_READ] >= TAGS:
                loop.call_soon_threadsafe(asked.set)

    async with ServedAccessPoint(ap) as served:
        with DelayedLink(
            "127.0.0.1", served.port, to_server_s=0.0, to_client_s=0.0, observe=observe
        ) as link:
            driver = AccessPointDriver(
                AccessPointClient(f"http://{link.host}:{link.port}"), timings=TIMINGS
            )
            try:
                with link.held(Direction.TO_CLIENT):
                    pushes = asyncio.gather(
                        *(
                            driver.push_image(mac, price_planes(seed=n), model="2.9-bwr")
                            for n, mac in enumerate(macs)
                        )
                    )
                    await asyncio.wait_for(asked.wait(), timeout=30)
                deliveries = await asyncio.wait_for(pushes, timeout=60)
            finally:
                await driver.close()
    assert len(deliveries) == TAGS
    assert counted[TYPE_READ] == 1
