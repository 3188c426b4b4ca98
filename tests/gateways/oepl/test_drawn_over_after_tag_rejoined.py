"""A tag deleted on the AP, joined again and drawn over gets its due price back, even when
the AP's record of it is put back to our image afterwards.

Found by review: the drawn-over check of f1d46da (the tag's `updatecount` rose without
us) does not hold when the same LAN attacker first deletes the tag from the AP
(`/tag_cmd del`, one of the things docs/gateways.md says anyone on the store LAN can
do): the tag joins again at its next check-in with a fresh record whose update count
starts from 0, so after the forged image is taken and the AP's record is put back to our
image (`/imgupload` of ours, `/tag_cmd clear`) the count is the one the gateway kept at
its last delivery. The gateway only asked whether the count *rose*, so it saw nothing:
the tag kept the forged price while the audit said match. It now keeps the time of the
update too (`updatelast`) and takes any other (count, time) for drawn over.

docs/gateways.md trust boundary: anyone on the store LAN can put a wrong price on a shelf
for a while, but cannot keep it there."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import pytest

from firmware_sim.oepl_ap.access_point import EmulatedTag
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


async def test_a_tag_deleted_rejoined_and_drawn_over_gets_its_due_price_again(
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
    old = ap.tags[victim]
    due = old.shown_planes()
    assert due is not None
    due_md5 = old.record_md5
    counted_before = old.update_count
    tag_type = TagType.from_json(HW_29_BWR, TAG_TYPES[HW_29_BWR])
    forged = price_planes(seed=99)
    # The AP times updates in whole seconds. A real tag cannot take two within one (an
    # image takes it seconds, and it checks in about every 40 s); these emulated ones
    # check in every 0.05 s, so the attack starts in the second after our delivery.
    await until(lambda: int(time.time()) > int(old.update_last), what="a second since", timeout_s=3)

    # The attacker deletes the tag; it joins again at its next check-in with a new record
    # (update count 0), still showing our image, and is sent the forged one at once.
    assert ap.tag_command(victim, "del", now=time.time()).status == 200
    tag = ap.add_tag(
        EmulatedTag(
            mac=victim, hw_type=old.hw_type, shown_raw=old.shown_raw, shown_md5=old.shown_md5
        ),
        now=time.time(),
    )
    put_back = False

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
    assert tag.update_count <= counted_before

    await asyncio.sleep(8)  # 16 health polls (0.5 s here) and reconciliation passes
    verdict = audit_by_label(chain.sessions, wall_clock())[victim]
    assert tag.shown_planes() == due, (
        f"tag {victim} still shows the forged image after 16 health polls (its update "
        f"count {tag.update_count}, {counted_before} at our last delivery); the audit says "
        f"{verdict.audit_class.value!r} (shows_due={verdict.shows_due})"
    )
    # Only the victim, once: the gateway's own deliveries (the first prices, the due image
    # again, to the tag's fresh record too) changed update counts and times as well, and
    # none of them is taken for someone else's.
    drawn_over = [r.getMessage() for r in caplog.records if "drawn over" in r.getMessage()]
    assert drawn_over == [f"label {victim}: drawn over behind the gateway"]
