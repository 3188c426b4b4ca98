"""A push waiting on the driver's watcher fails when the watcher fails; it never waits for
good.

The driver confirms a push with one watcher task listing the AP's tags every `poll_s`; a
tag past its window is given up once a listing begun after the window closed has ended.
The watcher caught only `AccessPointError`: a listing that failed otherwise (a bug, or an
AP answer nothing here reads) ended the task, no listing ended again, and every push
waiting on it waited for good: the label's worker hung, the frame stayed in flight until
the controller's own timeout. Now each waiting push fails with a driver error naming the
watcher's (not an `AccessPointError`: that would be reported as "may work later" and hide
the bug), the failure is logged once with its traceback, and the next push starts a new
watcher.

The watcher's error here is a reading of the driver's clock that fails once (the driver
takes its clock as a parameter; this one is the test's). Found first with a record whose
`lastseen` overflowed the driver's arithmetic, which the client now refuses as an
unreadable record (`test_a_number_out_of_range_costs_that_record_only.py`). One reading,
taken while the pushes wait: the watcher's, as its next listing begins, or, were a
listing on its way, as it notes the tags heard. The pushes read the clock only after a
wait that lasts twice the watcher's pause (`poll_s`), so the failure is the watcher's
alone, and a push that saw no `WatcherFailedError` would wait for a listing for good, as
before.
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
from tests.support.waiting import until

# A pause far longer than a listing of the emulated AP takes (see above); the pushes wait
# for as long as the test needs (their tags do not check in until told).
TIMINGS = DriverTimings(poll_s=0.5, confirm_timeout_s=60, busy_base_delay_s=0.01)
# Far longer than a failed push takes; before, the pushes waited for good.
_FAILS_WITHIN_S = 20


class ClockFailedError(Exception):
    """A reading of the test's clock failed."""


class OnceFailingClock:
    """The driver's clock: monotonic seconds, but the reading after `fail_next` raises."""

    def __init__(self) -> None:
        self.failure: ClockFailedError | None = None

    def fail_next(self) -> None:
        self.failure = ClockFailedError("the clock could not be read")

    def __call__(self) -> float:
        failure, self.failure = self.failure, None
        if failure is not None:
            raise failure
        return time.monotonic()


@pytest.fixture
async def served_ap() -> AsyncIterator[ServedAccessPoint]:
    ap = EmulatedAccessPoint(FAST_AP)
    now = time.time()
    for number in (1, 2):
        # Out of range until told: the pushes wait on the watcher, their images pending.
        ap.add_tag(EmulatedTag(mac=tag_mac(number), hw_type=HW_29_BWR, checks_in=False), now=now)
    async with ServedAccessPoint(ap) as served:
        yield served


@pytest.fixture
def clock() -> OnceFailingClock:
    return OnceFailingClock()


@pytest.fixture
async def driver(
    served_ap: ServedAccessPoint, clock: OnceFailingClock
) -> AsyncIterator[AccessPointDriver]:
    driver = AccessPointDriver(AccessPointClient(served_ap.url), timings=TIMINGS, clock=clock)
    yield driver
    await driver.close()


async def _fail_the_watchers_next_reading(
    driver: AccessPointDriver, clock: OnceFailingClock, *, pushes: int
) -> None:
    """Once `pushes` pushes wait on the watcher (their uploads done, their own readings of
    the clock taken until the next wait ends), the clock's next reading fails."""
    await until(
        lambda: driver._waiting == pushes,
        what=f"{pushes} pushes waiting on the watcher",
        timeout_s=_FAILS_WITHIN_S,
        poll_s=0.01,
    )
    clock.fail_next()


def _watcher_failure(error: BaseException) -> BaseException:
    """The watcher's own error behind a push's failure, checked to be no
    `AccessPointError` (the radio would report that as an AP that may work later)."""
    assert isinstance(error, WatcherFailedError), repr(error)
    assert not isinstance(error, AccessPointError)
    assert error.__cause__ is not None
    return error.__cause__


async def test_every_push_waiting_on_a_failed_watcher_fails_and_the_next_starts_one(
    served_ap: ServedAccessPoint,
    driver: AccessPointDriver,
    clock: OnceFailingClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR, logger="gateways.oepl")
    async with asyncio.timeout(_FAILS_WITHIN_S):
        pushes = [
            asyncio.create_task(
                driver.push_image(tag_mac(n), price_planes(seed=n), model="2.9-bwr")
            )
            for n in (1, 2)
        ]
        await _fail_the_watchers_next_reading(driver, clock, pushes=2)
        pushed = await asyncio.gather(*pushes, return_exceptions=True)

    causes = [_watcher_failure(error) for error in pushed if isinstance(error, BaseException)]
    assert len(causes) == 2, pushed
    assert all(isinstance(cause, ClockFailedError) for cause in causes), causes
    # The watcher's failure logged once, when it failed, with its traceback.
    logged = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [r.exc_info[1] for r in logged if r.exc_info] == [causes[0]]
    assert causes[1] is causes[0]
    assert all(served_ap.url in r.getMessage() for r in logged)

    # The tag checks in: the next push starts a new watcher and is confirmed.
    tag = served_ap.ap.tags[tag_mac(1)]
    tag.checks_in, tag.next_checkin = True, time.time()
    async with asyncio.timeout(_FAILS_WITHIN_S):
        delivery = await driver.push_image(tag_mac(1), price_planes(seed=5), model="2.9-bwr")
    assert delivery.resent
    assert tag.shown_planes() == price_planes(seed=5)


async def test_the_radio_lets_a_failed_watcher_through_not_as_an_ap_that_may_work_later(
    driver: AccessPointDriver, clock: OnceFailingClock
) -> None:
    radio = OeplRadio(driver)
    async with asyncio.timeout(_FAILS_WITHIN_S):
        show = asyncio.create_task(radio.show(tag_mac(1), price_planes(seed=1), model="2.9-bwr"))
        await _fail_the_watchers_next_reading(driver, clock, pushes=1)
        # Not a `RadioError`: the store gateway counts it as a try of the frame and stops,
        # rather than reporting it unsigned for the controller to retry for good.
        with pytest.raises(WatcherFailedError) as raised:
            await show
    assert isinstance(_watcher_failure(raised.value), ClockFailedError)
