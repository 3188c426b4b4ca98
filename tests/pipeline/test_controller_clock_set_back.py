"""A controller whose host clock is set back (NTP correcting an hour-fast clock) keeps
renewing its lease and writing its status at every renewal, so that once it is killed
`running` and `esl_controller_up` drop within three renewals and its lease goes stale,
as docs/pipeline.md and docs/operations.md promise. Before, every renewal waited for a
next turn computed on the fast clock: an hour without a status or a heartbeat."""

from __future__ import annotations

import asyncio
import random
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker

from esl.composition import RunningController, controller_settings
from esl.db.lease_models import ControllerLeaseRow
from esl.pipeline.controller_lease import LEASE_NAME, ControllerIdentity, take_lease
from esl.pipeline.controller_status import controller_status_path, read_controller_status
from esl.settings import Settings
from tests.pipeline.controller_report import controller_health, metrics_text
from tests.pipeline.in_memory_gateway import InMemoryGateway
from tests.pipeline.small_world import T0, World
from tests.support.clock import wall_clock
from tests.support.waiting import until

RENEW_S = 1.0
AN_HOUR = timedelta(hours=1)


class ShiftedClock:
    """The controller host's clock: the wall clock plus an offset NTP may correct."""

    def __init__(self, shift: timedelta) -> None:
        self.shift = shift

    def __call__(self) -> datetime:
        return wall_clock() + self.shift


def _settings(tmp_path: Path) -> Settings:
    return Settings.defaults().model_copy(
        update={
            "data_dir": tmp_path,
            "controller_lease_renew_s": RENEW_S,
            "controller_lease_stale_s": 5.0,
        }
    )


async def _start_an_hour_fast(
    engine: Engine, tmp_path: Path
) -> tuple[RunningController, ShiftedClock]:
    clock = ShiftedClock(AN_HOUR)
    running = await RunningController.start(
        controller_settings(_settings(tmp_path)),
        transport=InMemoryGateway(),
        sessions=sessionmaker(engine),
        clock=clock,
        rng=random.Random(1),
        status_path=controller_status_path(tmp_path),
    )
    return running, clock


async def _kill(running: RunningController, status_path: Path) -> None:
    """As SIGKILL: the task ends mid-step and the last status file stays behind (the
    test's stop removes it, so it is put back)."""
    left = status_path.read_text(encoding="utf-8") if status_path.exists() else None
    await running.stop(crash=True)
    if left is not None:
        status_path.write_text(left, encoding="utf-8")


async def test_a_controller_whose_clock_was_set_back_keeps_writing_its_status(
    engine: Engine, tmp_path: Path
) -> None:
    status_path = controller_status_path(tmp_path)
    running, clock = await _start_an_hour_fast(engine, tmp_path)
    try:
        await until(status_path.exists, what="the first status", timeout_s=10)
        clock.shift = timedelta(0)  # NTP corrects the host clock
        await asyncio.sleep(4 * RENEW_S)
        status = read_controller_status(status_path)
        assert status is not None
        # Before: still the report written on the fast clock, an hour ahead.
        assert abs(status.written_at - wall_clock()) <= timedelta(seconds=2 * RENEW_S), (
            f"status not rewritten since the clock was set right: written_at "
            f"{status.written_at:%H:%M:%S}, now {wall_clock():%H:%M:%S}"
        )
    finally:
        await _kill(running, status_path)


async def test_a_controller_killed_after_a_clock_correction_is_reported_down(
    engine: Engine, tmp_path: Path
) -> None:
    """Killed 4 s after its clock was set back an hour: three renewals (3 s) later the
    API and /metrics say it does not run (before: they said it ran, for an hour)."""
    status_path = controller_status_path(tmp_path)
    running, clock = await _start_an_hour_fast(engine, tmp_path)
    await until(status_path.exists, what="the first status", timeout_s=10)
    clock.shift = timedelta(0)
    await asyncio.sleep(4 * RENEW_S)
    await _kill(running, status_path)
    await asyncio.sleep(3 * RENEW_S + 1.5)
    health = await controller_health(_settings(tmp_path), engine)
    metrics = metrics_text(engine, status_path, renew_every=timedelta(seconds=RENEW_S))
    assert health["running"] is False, f"API says running: written_at {health['written_at']}"
    assert "esl_controller_up 0.0" in metrics.splitlines()


async def test_a_report_written_before_the_clock_was_set_back_is_not_a_live_one(
    engine: Engine, tmp_path: Path
) -> None:
    """The controller was killed before its first renewal on the corrected clock: its
    last report is dated an hour ahead. That is no sign of life (before: running true
    and `esl_controller_up 1` until the clock caught up with it)."""
    status_path = controller_status_path(tmp_path)
    running, _ = await _start_an_hour_fast(engine, tmp_path)
    await until(status_path.exists, what="the first status", timeout_s=10)
    await _kill(running, status_path)
    health = await controller_health(_settings(tmp_path), engine)
    metrics = metrics_text(engine, status_path, renew_every=timedelta(seconds=RENEW_S))
    assert health["running"] is False, f"API says running: written_at {health['written_at']}"
    assert "esl_controller_up 0.0" in metrics.splitlines()


def test_the_lease_is_renewed_on_the_corrected_clock_and_goes_stale_after_a_kill(
    engine: Engine,
) -> None:
    """The lease heartbeat follows the corrected clock, so a controller killed after the
    correction is taken over once it is stale (before: its heartbeat stayed an hour
    ahead, and `esl run` was refused as "another controller runs" for that hour)."""
    world = World.priced(engine, count=2)
    terms = world.controller.settings.lease
    first = ControllerIdentity.of_this_process(now=T0)
    take_lease(world.sessions, first, now=T0, terms=terms)
    world.controller.identity = first
    world.clock.now = T0 + AN_HOUR  # the host clock jumps ahead
    world.controller.plan_due_work()
    world.clock.now = T0 + timedelta(minutes=1)  # NTP sets it right
    world.controller.plan_due_work()
    with world.sessions() as session:
        lease = session.get(ControllerLeaseRow, LEASE_NAME)
        assert lease is not None
        assert lease.heartbeat_at.replace(tzinfo=T0.tzinfo) == world.clock.now
    # Killed now: a second controller takes over once the heartbeat is stale.
    later = world.clock.now + terms.stale_after + timedelta(seconds=1)
    second = ControllerIdentity(
        holder="second", pid=first.pid + 1, host="elsewhere", started_at=later
    )
    take_lease(world.sessions, second, now=later, terms=terms)
