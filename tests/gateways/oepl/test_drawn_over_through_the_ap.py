"""A tag drawn over through the AP's ordinary calls gets its due price back, even when the
AP's record of it is put back to our image afterwards.

docs/gateways.md, trust boundary: anyone on the store LAN can put a wrong price on a
shelf for a while, but cannot keep it there. Found by review: the gateway compared only
the record's `hash` (the image the AP *stores*), which the same LAN attacker sets back to
ours with two more calls (`/imgupload` of our image, then `/tag_cmd clear`), so every
health poll agreed and the audit said `match` while the tag showed the forged price.
The tag's `updatecount` says it took an image the gateway never sent: that is now
drawn over, and the due image goes out again (the tag made to fetch it, as the AP would
take an upload of the image it stores as no change).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import pytest

from firmware_sim.oepl_ap.tag_types import TAG_TYPES
from gateways.oepl import TagType
from gateways.oepl.images import jpeg_for
from tests.support.audit import audit_by_label
from tests.support.clock import wall_clock
from tests.support.oepl import HW_29_BWR, price_planes, tag_mac
from tests.support.oepl_chain import OeplChain
from tests.support.pipeline import publish_prices
from tests.support.waiting import until

pytestmark = [pytest.mark.integration]


async def test_a_tag_drawn_over_then_its_ap_record_put_back_gets_its_due_price_again(
    oepl_chain: OeplChain, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="gateways.store_gateway.process")
    chain = oepl_chain
    await chain.import_tags()
    publish_prices(
        chain.sessions, {"MLK-1": "3.49", "CHS-1": "8.99", "CFE-1": "59.99"}, now=wall_clock()
    )
    await chain.start_gateway()
    await chain.start_controller()
    await chain.wait_converged()

    ap = chain.served.ap
    victim = tag_mac(2)
    tag = ap.tags[victim]
    due = tag.shown_planes()
    assert due is not None
    due_md5 = tag.record_md5
    tag_type = TagType.from_json(HW_29_BWR, TAG_TYPES[HW_29_BWR])
    forged = price_planes(seed=99)
    put_back = False

    # The attacker watches the AP's /ws feed: the moment the tag took the forged image,
    # the AP's record is put back to our image (same pixels, same MD5) and cleared.
    def on_message(message: dict[str, Any]) -> None:
        nonlocal put_back
        for record in message.get("tags", []):
            if put_back or record["mac"] != victim or record["pending"]:
                continue
            if tag.shown_planes() == forged:
                put_back = True
                answer = ap.upload(victim, jpeg_for(due, tag_type), dither=0, now=time.time())
                assert answer.status == 200, answer
                assert ap.tag_command(victim, "clear", now=0).status == 200

    unsubscribe = ap.subscribe(on_message)
    try:
        answer = ap.upload(victim, jpeg_for(forged, tag_type), dither=0, now=time.time())
        assert answer.status == 200
        await until(lambda: put_back, what="the forged image taken", timeout_s=10)
    finally:
        unsubscribe()
    assert tag.shown_planes() == forged
    assert tag.record_md5 == due_md5  # the AP's record: our image, taken
    assert not tag.pending

    await asyncio.sleep(8)  # 16 health polls (0.5 s here) and reconciliation passes
    verdict = audit_by_label(chain.sessions, wall_clock())[victim]
    assert tag.shown_planes() == due, (
        f"tag {victim} still shows the forged image after 16 health polls; "
        f"the audit says {verdict.audit_class.value!r} (shows_due={verdict.shows_due})"
    )
    # Only the victim, once: the gateway's own deliveries (the first prices, the due image
    # again) raised update counts too, and none of them is taken for someone else's.
    drawn_over = [r.getMessage() for r in caplog.records if "drawn over" in r.getMessage()]
    assert drawn_over == [f"label {victim}: drawn over behind the gateway"]
