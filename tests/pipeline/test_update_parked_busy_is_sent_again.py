"""A label parked `busy` (refreshing at every attempt, kept busy by two changes in a row)
that then checks in idle gets its update: before, the update stayed parked and the shelf
kept the old price until another change replaced it."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select

from esl.db.models import OutboxRow
from esl.settings import Settings
from gateways.mqtt.endpoint import parse_broker_url
from tests.support.chain import TEST_TIMINGS, Chain
from tests.support.clock import wall_clock
from tests.support.pipeline import publish_prices

pytestmark = pytest.mark.integration


async def test_an_update_parked_busy_is_sent_again_once_the_label_checks_in_idle(
    engine, mosquitto, tmp_path
) -> None:
    chain = Chain(
        engine=engine,
        broker=parse_broker_url(mosquitto.url),
        mosquitto=mosquitto,
        state_dir=tmp_path / "sim",
        clock=wall_clock,
        settings=Settings.defaults(),
        # Real-time labels (a 2.9" BWR refresh takes about 15 s); a controller that asks a
        # busy label again after 1 s and parks after 3 sends.
        timings=replace(
            TEST_TIMINGS,
            sim_speed=1.0,
            busy_delay=timedelta(seconds=1),
            ack_timeout=timedelta(seconds=3),
            max_attempts=3,
        ),
    )
    try:
        publish_prices(
            chain.sessions, {"MLK-1": "3.49", "CHS-1": "8.99", "CFE-1": "59.99"}, now=wall_clock()
        )
        chain.add_store("S01", labels=3, check_in_interval_s=2.0)
        await chain.start_gateway("S01")
        await chain.start_controller()
        await chain.wait_converged(wall_clock(), timeout_s=60)
        publish_prices(chain.sessions, {"MLK-1": "2.99"}, now=wall_clock())
        await asyncio.sleep(1.0)  # the milk label takes it and starts its 15 s refresh
        publish_prices(chain.sessions, {"MLK-1": "2.49"}, now=wall_clock())
        deadline = time.monotonic() + 60
        parked_seen = False
        while time.monotonic() < deadline:
            with chain.sessions() as session:
                parked = session.scalars(
                    select(OutboxRow.parked_reason).where(OutboxRow.status == "parked")
                ).all()
            parked_seen = parked_seen or bool(parked)
            if parked_seen and not parked and not chain.mismatches(wall_clock()):
                break
            await asyncio.sleep(0.5)
        assert parked_seen, "nothing was parked busy: the scenario did not happen"
        with chain.sessions() as session:
            parked = session.scalars(
                select(OutboxRow.parked_reason).where(OutboxRow.status == "parked")
            ).all()
        label = next(iter(chain.sites["S01"].gateway.labels.values()))
        wrong = chain.mismatches(wall_clock())
        state = label.state(now=wall_clock())
        assert not parked, f"still parked {parked} 60 s later, label checking in (state {state})"
        assert not wrong, f"wrong panels: {wrong}"
    finally:
        await chain.close()
