"""An emulated OpenEPaperLink AP served on a free port, its tags checking in fast."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest

from firmware_sim.oepl_ap import EmulatedAccessPoint, EmulatedTag
from firmware_sim.oepl_ap.http_app import ServedAccessPoint
from tests.support.oepl import FAST_AP, HW_27_BWR, HW_29_BW, HW_29_BWR, tag_mac


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
