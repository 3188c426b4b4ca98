"""The controller end of a one-store chain over Mosquitto (the OpenEPaperLink and BLE
store-gateway tests): the controller the composition root builds, on the wall clock, and
the wait until every panel shows its due render with nothing left in the outbox."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Sized
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from esl.composition import RunningController, controller_settings, controller_transport
from esl.pipeline import RetryPolicy
from esl.settings import Settings
from gateways.mqtt.endpoint import parse_broker_url
from tests.support.clock import wall_clock

__all__ = ["start_wall_clock_controller", "wait_converged"]


async def start_wall_clock_controller(
    broker_url: str,
    sessions: sessionmaker[Session],
    *,
    ack_timeout: timedelta,
    max_attempts: int,
) -> RunningController:
    """The controller over its paho link to `broker_url`, with quick retries (a lost frame
    costs seconds) after `ack_timeout`, parking after `max_attempts`."""
    settings = controller_settings(
        Settings.defaults(),
        window=16,
        poll_every=timedelta(milliseconds=100),
        policy=RetryPolicy(
            ack_timeout=ack_timeout,
            base_delay=timedelta(milliseconds=200),
            max_delay=timedelta(seconds=2),
            max_attempts=max_attempts,
        ),
    )
    return await RunningController.start(
        settings,
        transport=controller_transport(parse_broker_url(broker_url), reconnect_delay_s=(1, 2)),
        sessions=sessions,
        clock=wall_clock,
        rng=random.Random(1),
    )


async def wait_converged(
    mismatches: Callable[[], Sized], open_rows: Callable[[], int], *, timeout_s: float
) -> None:
    """Until no label shows other than its due render and no outbox row is open."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not len(mismatches()) and open_rows() == 0:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"not converged: {mismatches()} wrong, {open_rows()} open rows")
