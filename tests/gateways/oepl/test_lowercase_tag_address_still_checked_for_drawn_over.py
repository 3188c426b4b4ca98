"""A label whose radio address in the OEPL gateway's label file is the tag's MAC in lowercase
(hand-written, converted, or a label id given in lowercase): the AP and the driver accept
either case, so images reach the tag, and the health poll must find it too, or a tag drawn
over through the AP keeps the forged price while the audit says match, for good. The
gateway reads every address in one normal form (16 uppercase hex digits)."""

from __future__ import annotations

import contextlib
import json
import time

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

VICTIM = tag_mac(0xAB)  # 00000258000000AB: hex letters
FORGED = price_planes(seed=99)


async def test_lowercase_address_drawn_over_is_caught(oepl_chain: OeplChain) -> None:
    chain = oepl_chain
    chain.served.ap.add_tag(EmulatedTag(mac=VICTIM, hw_type=HW_29_BWR), now=time.time())
    await chain.import_tags()
    document = json.loads(chain.provisioning.read_text())
    for entry in document["labels"]:
        entry["address"] = entry.get("address", entry["label_id"]).lower()
    chain.provisioning.write_text(json.dumps(document))
    publish_prices(
        chain.sessions, {"MLK-1": "3.49", "CHS-1": "8.99", "CFE-1": "59.99"}, now=wall_clock()
    )
    await chain.start_gateway()
    await chain.start_controller()
    await chain.wait_converged()
    ap = chain.served.ap
    tag = ap.tags[VICTIM]
    due = tag.shown_planes()
    assert due is not None  # the images did reach the tags through the lowercase address

    tag_type = TagType.from_json(HW_29_BWR, TAG_TYPES[HW_29_BWR])
    assert ap.upload(VICTIM, jpeg_for(FORGED, tag_type), dither=0, now=time.time()).status == 200
    await until(lambda: tag.shown_planes() == FORGED, what="forged image taken", timeout_s=10)

    # The gateway's redraw: within a few health polls (0.5 s each); the bound is for a
    # loaded machine, and the assertion below says what the tag shows if it never comes.
    with contextlib.suppress(AssertionError):
        await until(lambda: tag.shown_planes() == due, what="due image drawn again", timeout_s=30)
    verdict = audit_by_label(chain.sessions, wall_clock())[VICTIM]
    assert tag.shown_planes() == due, (
        f"tag {VICTIM} shows the forged price after 16 health polls; "
        f"the audit says {verdict.audit_class.value!r} (shows_due={verdict.shows_due})"
    )
