"""A controller that restarts resumes its stores' sessions (their client ids are stable:
the username behind `esl mqtt config`'s Mosquitto, `esl-controller.{store}` here) and
hears what the broker queued meanwhile, the labels' check-ins included. Each is stamped
when it is read, not when it was sent, and the clock check compared the label's signed
clock with that stamp: a check-in queued longer than ESL_LABEL_CLOCK_TOLERANCE_S looked
like a clock running behind by the downtime, and every label that checked in while the
controller was away was sent a needless SetClock at its restart (found by review)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from esl.db.console_models import LabelActionRow
from esl.db.models import LabelStateRow
from esl.settings import Settings
from gateways.mqtt.endpoint import parse_broker_url
from tests.fixtures.mosquitto import MosquittoProcess
from tests.support.chain import TEST_TIMINGS, Chain
from tests.support.clock import wall_clock
from tests.support.pipeline import publish_prices

pytestmark = pytest.mark.integration

PRICES = {"MLK-1": "3.49", "CHS-1": "8.99", "CFE-1": "59.99"}
TOLERANCE = timedelta(seconds=5)  # ESL_LABEL_CLOCK_TOLERANCE_S, shortened (away: 10 s)


async def test_a_restart_sets_no_label_clock_that_is_right(
    engine: Engine, mosquitto: MosquittoProcess, tmp_path: Path
) -> None:
    chain = Chain(
        engine=engine,
        broker=parse_broker_url(mosquitto.url),
        mosquitto=mosquitto,
        state_dir=tmp_path / "sim",
        clock=wall_clock,
        settings=Settings.defaults(),
        # Labels on real time, their clocks right: the controller judges them.
        timings=replace(TEST_TIMINGS, sim_speed=1.0, busy_delay=timedelta(seconds=20)),
    )
    try:
        publish_prices(chain.sessions, PRICES, now=wall_clock())
        chain.add_store("S01", labels=4, check_in_interval_s=8.0)
        await chain.start_gateway("S01")
        await chain.start_controller(label_clock_tolerance=TOLERANCE)
        await chain.wait_converged(wall_clock())
        await _each_heard_since(chain, wall_clock())  # live check-ins: clocks right
        with chain.sessions() as session:
            before = session.scalars(select(LabelActionRow.label_id)).all()
        assert before == []

        await chain.stop_controller()  # a restart (an upgrade): away longer than the tolerance
        await asyncio.sleep(10)  # the labels check in meanwhile, queued at the broker
        restarted_at = wall_clock()
        await chain.start_controller(label_clock_tolerance=TOLERANCE)
        await _each_heard_since(chain, restarted_at)  # the backlog, weighed
        with chain.sessions() as session:
            set_clock = session.scalars(
                select(LabelActionRow.label_id).where(LabelActionRow.action == "set_clock")
            ).all()
        assert set_clock == [], (
            f"labels whose clocks are right were sent a SetClock after the restart: {set_clock}"
        )
    finally:
        await chain.close()


async def _each_heard_since(chain: Chain, since: datetime, timeout_s: float = 30.0) -> None:
    """Until every label's check-in arrived after `since` (what settling it records)."""
    for _ in range(int(timeout_s / 0.1)):
        with chain.sessions() as session:
            heard = session.scalars(select(LabelStateRow.last_seen)).all()
        if len(heard) == 4 and all(at is not None and at >= since for at in heard):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"not every label heard since {since.isoformat()} in {timeout_s} s")
