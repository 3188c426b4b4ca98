"""A tag drawn over through the AP's ordinary calls gets its due price back, even when the
AP's record of it is put back to our image afterwards.

docs/gateways.md, trust boundary: anyone on the store LAN can put a wrong price on a
shelf for a while, but cannot keep it there. Found by review, twice:

- the gateway compared only the record's `hash` (the image the AP *stores*), which the
  same LAN attacker sets back to ours with two more calls (`/imgupload` of our image,
  then `/tag_cmd clear`), so every health poll agreed and the audit said `match` while
  the tag showed the forged price. The tag's `updatecount` says it took an image the
  gateway never sent: that is now drawn over, and the due image goes out again (the tag
  made to fetch it, as the AP would take an upload of the image it stores as no change);
- when the attacker first deletes the tag on the AP (`/tag_cmd del`), it joins again with
  a fresh record counting from 0, and after the same attack the count equals the one the
  gateway kept: it only asked whether the count *rose*. It now keeps the time of the
  update too (`updatelast`) and takes any other (count, time) for drawn over.
"""

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
from rendering.encoding import Planes
from tests.support.audit import audit_by_label
from tests.support.clock import wall_clock
from tests.support.oepl import HW_29_BWR, price_planes, tag_mac
from tests.support.oepl_chain import OeplChain
from tests.support.pipeline import publish_prices
from tests.support.waiting import until

pytestmark = [pytest.mark.integration]

VICTIM = tag_mac(2)
FORGED = price_planes(seed=99)


async def _converged(chain: OeplChain, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="gateways.store_gateway.process")
    await chain.import_tags()
    publish_prices(
        chain.sessions, {"MLK-1": "3.49", "CHS-1": "8.99", "CFE-1": "59.99"}, now=wall_clock()
    )
    await chain.start_gateway()
    await chain.start_controller()
    await chain.wait_converged()


async def _draw_over_and_put_back(
    chain: OeplChain, tag: EmulatedTag, due: Planes, due_md5: str
) -> None:
    """The attacker uploads the forged image, watches the AP's /ws feed and, the moment
    the tag took it, puts the AP's record back to our image (`due`, whose MD5 the AP
    records as `due_md5`) and clears it."""
    ap = chain.served.ap
    tag_type = TagType.from_json(HW_29_BWR, TAG_TYPES[HW_29_BWR])
    put_back = False

    def on_message(message: dict[str, Any]) -> None:
        nonlocal put_back
        for record in message.get("tags", []):
            if put_back or record["mac"] != VICTIM or record["pending"]:
                continue
            if tag.shown_planes() == FORGED:
                put_back = True
                answer = ap.upload(VICTIM, jpeg_for(due, tag_type), dither=0, now=time.time())
                assert answer.status == 200, answer
                assert ap.tag_command(VICTIM, "clear", now=0).status == 200

    unsubscribe = ap.subscribe(on_message)
    try:
        answer = ap.upload(VICTIM, jpeg_for(FORGED, tag_type), dither=0, now=time.time())
        assert answer.status == 200
        await until(lambda: put_back, what="the forged image taken", timeout_s=10)
    finally:
        unsubscribe()
    assert tag.shown_planes() == FORGED
    assert tag.record_md5 == due_md5  # the AP's record: our image, taken
    assert not tag.pending


async def _assert_due_again(
    chain: OeplChain, tag: EmulatedTag, due: Planes, caplog: pytest.LogCaptureFixture
) -> None:
    await asyncio.sleep(8)  # 16 health polls (0.5 s here) and reconciliation passes
    verdict = audit_by_label(chain.sessions, wall_clock())[VICTIM]
    assert tag.shown_planes() == due, (
        f"tag {VICTIM} still shows the forged image after 16 health polls (update count "
        f"{tag.update_count}); the audit says {verdict.audit_class.value!r} "
        f"(shows_due={verdict.shows_due})"
    )
    # Only the victim, once: the gateway's own deliveries (the first prices, the due image
    # again, to a fresh record too) changed update counts and times as well, and none of
    # them is taken for someone else's.
    drawn_over = [r.getMessage() for r in caplog.records if "drawn over" in r.getMessage()]
    assert drawn_over == [f"label {VICTIM}: drawn over behind the gateway"]


async def test_a_tag_drawn_over_then_its_ap_record_put_back_gets_its_due_price_again(
    oepl_chain: OeplChain, caplog: pytest.LogCaptureFixture
) -> None:
    await _converged(oepl_chain, caplog)
    tag = oepl_chain.served.ap.tags[VICTIM]
    due = tag.shown_planes()
    assert due is not None

    await _draw_over_and_put_back(oepl_chain, tag, due, tag.record_md5)
    await _assert_due_again(oepl_chain, tag, due, caplog)


async def test_a_tag_deleted_rejoined_and_drawn_over_gets_its_due_price_again(
    oepl_chain: OeplChain, caplog: pytest.LogCaptureFixture
) -> None:
    await _converged(oepl_chain, caplog)
    ap = oepl_chain.served.ap
    old = ap.tags[VICTIM]
    due = old.shown_planes()
    assert due is not None
    counted_before = old.update_count
    # The AP times updates in whole seconds. A real tag cannot take two within one (an
    # image takes it seconds, and it checks in about every 40 s); these emulated ones
    # check in every 0.05 s, so the attack starts in the second after our delivery.
    await until(lambda: int(time.time()) > int(old.update_last), what="a second since", timeout_s=3)

    # The attacker deletes the tag; it joins again at its next check-in with a new record
    # (update count 0), still showing our image, and is sent the forged one at once.
    assert ap.tag_command(VICTIM, "del", now=time.time()).status == 200
    tag = ap.add_tag(
        EmulatedTag(
            mac=VICTIM, hw_type=old.hw_type, shown_raw=old.shown_raw, shown_md5=old.shown_md5
        ),
        now=time.time(),
    )
    await _draw_over_and_put_back(oepl_chain, tag, due, old.record_md5)
    assert tag.update_count <= counted_before  # no rise for the gateway to see

    await _assert_due_again(oepl_chain, tag, due, caplog)
