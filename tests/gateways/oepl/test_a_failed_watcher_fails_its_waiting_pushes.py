"""A push waiting on the driver's watcher fails when the watcher fails; it never waits for
good.

The driver confirms a push with one watcher task listing the AP's tags every `poll_s`; a
tag past its window is given up once a listing begun after the window closed has ended.
The watcher caught only `AccessPointError`: a listing that failed otherwise (here a
record the client lets through, whose `lastseen` is a number past any clock, so the
driver's arithmetic on it overflows) ended the task, no listing ended again, and every
push waiting on it waited for good: the label's worker hung, the frame stayed in flight
until the controller's own timeout. Now each waiting push fails with a driver error
naming the watcher's (not an `AccessPointError`: that would be reported as "may work
later" and hide the bug), the failure is logged once with its traceback, and the next
push starts a new watcher.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator

import pytest

from firmware_sim.oepl_ap.access_point import EmulatedAccessPoint, EmulatedTag
from firmware_sim.oepl_ap.http_app import ServedAccessPoint
from gateways.oepl import AccessPointClient, AccessPointDriver, DriverTimings
from gateways.oepl.errors import AccessPointError, WatcherFailedError
from gateways.oepl.radio import OeplRadio
from tests.support.oepl import FAST_AP, HW_29_BWR, price_planes, tag_mac

TIMINGS = DriverTimings(poll_s=0.02, confirm_timeout_s=0.6, busy_base_delay_s=0.01)
# Far longer than a failed push takes; before, the pushes waited for good.
_FAILS_WITHIN_S = 20
ODD = tag_mac(9)  # the tag whose record is malformed
PAST_ANY_CLOCK = 10**400  # a JSON integer the client reads, too large for a float


@pytest.fixture
async def served_ap() -> AsyncIterator[ServedAccessPoint]:
    ap = EmulatedAccessPoint(FAST_AP)
    now = time.time()
    for number in (1, 2):
        ap.add_tag(EmulatedTag(mac=tag_mac(number), hw_type=HW_29_BWR), now=now)
    odd = ap.add_tag(EmulatedTag(mac=ODD, hw_type=HW_29_BWR, checks_in=False), now=now)
    odd.last_seen = PAST_ANY_CLOCK
    async with ServedAccessPoint(ap) as served:
        yield served


@pytest.fixture
async def driver(served_ap: ServedAccessPoint) -> AsyncIterator[AccessPointDriver]:
    driver = AccessPointDriver(AccessPointClient(served_ap.url), timings=TIMINGS)
    yield driver
    await driver.close()


def _watcher_failure(error: BaseException) -> BaseException:
    """The watcher's own error behind a push's failure, checked to be no
    `AccessPointError` (the radio would report that as an AP that may work later)."""
    assert isinstance(error, WatcherFailedError), repr(error)
    assert not isinstance(error, AccessPointError)
    assert error.__cause__ is not None
    return error.__cause__


async def test_every_push_waiting_on_a_failed_watcher_fails_and_the_next_starts_one(
    served_ap: ServedAccessPoint, driver: AccessPointDriver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="gateways.oepl")
    async with asyncio.timeout(_FAILS_WITHIN_S):
        pushed = await asyncio.gather(
            *(driver.push_image(tag_mac(n), price_planes(seed=n), model="2.9-bwr") for n in (1, 2)),
            return_exceptions=True,
        )

    causes = [_watcher_failure(error) for error in pushed if isinstance(error, BaseException)]
    assert len(causes) == 2, pushed
    assert all(isinstance(cause, OverflowError) for cause in causes), causes
    # Each watcher's failure logged once, when it failed, with its traceback (a push that
    # began waiting after one failed started another, which failed the same way).
    logged = [r for r in caplog.records if r.levelno >= logging.ERROR]
    failures = {id(cause): cause for cause in causes}
    assert sorted(id(r.exc_info[1]) for r in logged if r.exc_info) == sorted(failures)
    assert all(served_ap.url in r.getMessage() for r in logged)

    # The AP lists the tag well again: the next push starts a new watcher and is confirmed.
    odd = served_ap.ap.tags[ODD]
    odd.last_seen, odd.checks_in = time.time(), True
    async with asyncio.timeout(_FAILS_WITHIN_S):
        delivery = await driver.push_image(tag_mac(1), price_planes(seed=5), model="2.9-bwr")
    assert delivery.resent
    assert served_ap.ap.tags[tag_mac(1)].shown_planes() == price_planes(seed=5)


async def test_the_radio_lets_a_failed_watcher_through_not_as_an_ap_that_may_work_later(
    driver: AccessPointDriver,
) -> None:
    radio = OeplRadio(driver)
    async with asyncio.timeout(_FAILS_WITHIN_S):
        # Not a `RadioError`: the store gateway counts it as a try of the frame and stops,
        # rather than reporting it unsigned for the controller to retry for good.
        with pytest.raises(WatcherFailedError) as raised:
            await radio.show(tag_mac(1), price_planes(seed=1), model="2.9-bwr")
    assert isinstance(_watcher_failure(raised.value), OverflowError)
