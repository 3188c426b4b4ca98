"""The whole OpenEPaperLink chain on real parts: controller (paho driver) -> Mosquitto ->
the store gateway process -> the emulated AP -> emulated tags. Every tag ends up with
exactly the reference render of its due price, through a gateway restart and a storm
of 409s, and the gateway refuses what a label would refuse."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from sqlalchemy import select

from esl.db.models import LabelStateRow
from firmware_sim.oepl_ap.tag_types import TAG_TYPES
from gateways.oepl import TagType
from gateways.oepl.images import jpeg_for
from tests.support.clock import wall_clock
from tests.support.oepl import price_planes, tag_mac
from tests.support.oepl_chain import OeplChain
from tests.support.pipeline import publish_prices
from tests.support.waiting import until

pytestmark = [pytest.mark.integration, pytest.mark.slow]


async def test_prices_reach_every_tag_through_restart_and_a_409_storm(
    oepl_chain: OeplChain,
) -> None:
    skipped = await oepl_chain.import_tags()
    # The 2.7" tag has no display model: reported, not guessed.
    assert [mac for mac, _ in skipped] == [tag_mac(7)]
    assert len(oepl_chain.bindings) == 6
    publish_prices(
        oepl_chain.sessions, {"MLK-1": "3.49", "CHS-1": "8.99", "CFE-1": "59.99"}, now=wall_clock()
    )
    await oepl_chain.start_gateway()
    await oepl_chain.start_controller()
    await oepl_chain.wait_converged()

    # Someone on the store LAN draws on a tag through the AP (OEPL has no authentication).
    # The gateway notices the tag holds another image and says so; the due price returns.
    victim = tag_mac(2)
    forged = price_planes(seed=99)
    tag_type = TagType.from_json(0xB3, TAG_TYPES[0xB3])
    async with httpx.AsyncClient(base_url=oepl_chain.served.url) as lan:
        uploaded = await lan.post(
            "/imgupload",
            data={"mac": victim, "dither": "0"},
            files={"image": ("x.jpg", jpeg_for(forged, tag_type), "image/jpeg")},
        )
    assert uploaded.status_code == 200
    await until(
        lambda: oepl_chain.served.ap.tags[victim].shown_planes() == forged,
        what="the forged image on the tag",
        timeout_s=10,
    )
    await oepl_chain.wait_converged()

    # The gateway restarts while new prices go out, and the AP is busy for a while.
    await oepl_chain.stop_gateway()
    refused_before = oepl_chain.served.ap.refused_busy
    oepl_chain.served.ap.refuse_next_uploads(8)
    publish_prices(
        oepl_chain.sessions, {"MLK-1": "3.19", "CHS-1": "9.49", "CFE-1": "57.99"}, now=wall_clock()
    )
    await asyncio.sleep(0.5)  # frames wait at the broker for the gateway's session
    await oepl_chain.start_gateway()
    await oepl_chain.wait_converged()
    # Every forced 409 was met (and maybe a natural one, while the AP processed an upload).
    assert oepl_chain.served.ap.refused_busy - refused_before >= 8

    # What the controller recorded is what each tag shows; health came from the tags.
    with oepl_chain.sessions() as session:
        states = {row.label_id: row for row in session.scalars(select(LabelStateRow))}
    for label_id in oepl_chain.bindings:
        assert states[label_id].battery_mv == 2950
