"""An emulated OpenEPaperLink AP served on a free port, its tags checking in fast; the
gateway's radio and the whole chain over it."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from firmware_sim.oepl_ap.access_point import EmulatedAccessPoint, EmulatedTag
from firmware_sim.oepl_ap.http_app import ServedAccessPoint
from gateways.oepl import AccessPointClient, AccessPointDriver, DriverTimings
from gateways.oepl.radio import OeplRadio
from tests.fixtures.mosquitto import MosquittoProcess
from tests.support.oepl import FAST_AP, HW_27_BWR, HW_29_BW, HW_29_BWR, tag_mac
from tests.support.oepl_chain import OeplChain


@pytest.fixture
async def served_ap() -> AsyncIterator[ServedAccessPoint]:
    ap = EmulatedAccessPoint(FAST_AP)
    now = time.time()
    for number in range(1, 6):
        ap.add_tag(EmulatedTag(mac=tag_mac(number), hw_type=HW_29_BWR), now=now)
    ap.add_tag(EmulatedTag(mac=tag_mac(6), hw_type=HW_29_BW), now=now)
    ap.add_tag(EmulatedTag(mac=tag_mac(7), hw_type=HW_27_BWR), now=now)
    async with ServedAccessPoint(ap) as served:
        yield served


@pytest.fixture
async def radio(served_ap: ServedAccessPoint) -> AsyncIterator[OeplRadio]:
    """The gateway's radio over the emulated AP: fast polls, a tag's answer within 0.6 s."""
    timings = DriverTimings(poll_s=0.02, confirm_timeout_s=0.6, busy_base_delay_s=0.01)
    radio = OeplRadio(AccessPointDriver(AccessPointClient(served_ap.url), timings=timings))
    yield radio
    await radio.close()


@pytest.fixture
async def oepl_chain(
    engine: Engine,
    mosquitto: MosquittoProcess,
    served_ap: ServedAccessPoint,
    tmp_path: Path,
) -> AsyncIterator[OeplChain]:
    chain = OeplChain(engine=engine, broker=mosquitto, served=served_ap, state_dir=tmp_path)
    yield chain
    await chain.close()
