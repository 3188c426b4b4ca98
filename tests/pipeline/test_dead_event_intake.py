"""A controller whose intake of the transport's events has died ends, instead of
planning on and reporting itself running while no answer can be settled again.

Before, `Dispatcher.run` started the task reading the transport's events unsupervised:
when it ended, the controller kept planning and sending, its status file said it ran
(`esl health`, the API, `esl_controller_up`), and no label was ever confirmed again. Now
the dispatcher's run ends with that task, the controller loop with it, and the process
exits so its supervisor (systemd, the container) starts it again."""

from __future__ import annotations

import contextlib
import random
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker

from esl.composition import RunningController, controller_settings
from esl.pipeline.controller_status import controller_status_path
from esl.pipeline.errors import TransportEventsEndedError
from esl.settings import Settings
from gateways.base import GatewayEvent, Uplink
from tests.pipeline.controller_report import controller_health
from tests.pipeline.in_memory_gateway import InMemoryGateway
from tests.support.clock import wall_clock
from tests.support.waiting import until


def _settings(tmp_path: Path) -> Settings:
    return Settings.defaults().model_copy(
        update={
            "data_dir": tmp_path,
            "controller_lease_renew_s": 1.0,
            "controller_lease_stale_s": 5.0,
        }
    )


async def _start(engine: Engine, tmp_path: Path, gateway: InMemoryGateway) -> RunningController:
    running = await RunningController.start(
        controller_settings(_settings(tmp_path)),
        transport=gateway,
        sessions=sessionmaker(engine),
        clock=wall_clock,
        rng=random.Random(1),
        status_path=controller_status_path(tmp_path),
    )
    await until(controller_status_path(tmp_path).exists, what="the first status", timeout_s=10)
    return running


async def test_a_controller_whose_event_intake_failed_ends_with_its_error(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fault injection: taking an event in raises (no known input makes the real
    `handle_event` fail, so a bug in code it calls is stood in for by a patched one)."""
    gateway = InMemoryGateway()
    running = await _start(engine, tmp_path, gateway)

    def broken(event: GatewayEvent) -> None:
        raise RuntimeError("a bug met while taking an event in")

    monkeypatch.setattr(running.controller.dispatcher, "handle_event", broken)
    try:
        gateway.deliver([Uplink("S01", "gwS01", b"\x00", wall_clock())])
        # Before: the task ran on and the API said running: true.
        await until(running.task.done, what="the controller ended", timeout_s=10)
        with pytest.raises(RuntimeError, match="a bug met while taking an event in"):
            running.task.result()
        health = await controller_health(_settings(tmp_path), engine)
        assert health["running"] is False
    finally:
        with contextlib.suppress(RuntimeError):  # the task's error, raised by its stop
            await running.stop(crash=True)


async def test_a_transport_whose_events_end_before_the_stop_ends_the_controller(
    engine: Engine, tmp_path: Path
) -> None:
    gateway = InMemoryGateway()
    running = await _start(engine, tmp_path, gateway)
    try:
        await gateway.stop()  # its events end; the controller was not stopped
        await until(running.task.done, what="the controller ended", timeout_s=10)
        with pytest.raises(TransportEventsEndedError, match="no answer can be settled"):
            running.task.result()
    finally:
        with contextlib.suppress(TransportEventsEndedError):
            await running.stop(crash=True)


async def test_a_stopped_controller_ends_quietly(engine: Engine, tmp_path: Path) -> None:
    """The stop path is unchanged: the controller ends first, then its transport."""
    running = await _start(engine, tmp_path, InMemoryGateway())
    await running.stop()
    assert running.task.exception() is None
    assert not controller_status_path(tmp_path).exists()
