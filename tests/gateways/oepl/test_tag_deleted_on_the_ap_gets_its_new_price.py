"""A tag deleted on the AP (`/tag_cmd del`, from its web page or anyone on the store's
LAN) while the controller has a new price for it. A real AP lists the tag again at its
next check-in (~40 s), the tag still showing its old image: the update parks as offline
(the AP's tag database named), not rejected, and goes out again once the tag is heard, so
the old price is on the shelf for a while, never for good (docs/gateways.md)."""

from __future__ import annotations

import asyncio
import time

import pytest

from firmware_sim.oepl_ap.access_point import EmulatedTag
from tests.support.audit import audit_by_label
from tests.support.clock import wall_clock
from tests.support.oepl import tag_mac
from tests.support.oepl_chain import OeplChain
from tests.support.outbox import outbox_by_label
from tests.support.pipeline import expected_planes, publish_prices
from tests.support.waiting import until

pytestmark = [pytest.mark.integration]

VICTIM = tag_mac(2)


async def test_a_tag_deleted_on_the_ap_gets_its_new_price_once_it_rejoins(
    oepl_chain: OeplChain,
) -> None:
    await oepl_chain.import_tags()
    publish_prices(
        oepl_chain.sessions, {"MLK-1": "3.49", "CHS-1": "8.99", "CFE-1": "59.99"}, now=wall_clock()
    )
    await oepl_chain.start_gateway()
    await oepl_chain.start_controller()
    await oepl_chain.wait_converged()
    ap = oepl_chain.served.ap
    old = ap.tags[VICTIM]
    old_planes = old.shown_planes()
    sku = oepl_chain.bindings[VICTIM]

    # Someone on the AP's web page deletes the tag; a new price goes out meanwhile.
    assert ap.tag_command(VICTIM, "del", now=time.time()).status == 200
    publish_prices(oepl_chain.sessions, {sku: "1.11"}, now=wall_clock())

    def victim_rows() -> list[tuple[int, str, str | None]]:
        return outbox_by_label(oepl_chain.sessions).get(VICTIM, [])

    await until(
        lambda: any(status == "parked" for _, status, _ in victim_rows()),
        what="the new price parked for the deleted tag",
        timeout_s=30,
    )
    parked = victim_rows()
    verdict_while_gone = audit_by_label(oepl_chain.sessions, wall_clock())[VICTIM]
    why = [text for _, status, text in parked if status == "parked"]
    assert all(text and "offline" in text and "tag database" in text for text in why), parked
    assert verdict_while_gone.audit_class.value != "match"  # it shows the old price

    # The tag checks in again: the AP lists it anew (fresh record), still showing the old
    # price, exactly as a real AP does ~40 s after a `del`.
    ap.add_tag(
        EmulatedTag(
            mac=VICTIM, hw_type=old.hw_type, shown_raw=old.shown_raw, shown_md5=old.shown_md5
        ),
        now=time.time(),
    )
    await asyncio.sleep(15)  # 30 health polls, many check-ins and reconciliation passes

    with oepl_chain.sessions() as session:
        due = expected_planes(session, label_id=VICTIM, sku=sku, at=wall_clock())
    tag = ap.tags[VICTIM]
    verdict = audit_by_label(oepl_chain.sessions, wall_clock())[VICTIM]
    assert due != old_planes
    assert not (tag.shown_planes() == old_planes and verdict.audit_class.value == "match")
    assert tag.shown_planes() == due, (
        f"tag {VICTIM} rejoined the AP 15 s ago and still shows its old price; rows "
        f"{victim_rows()} (parked while gone: {parked}); audit while gone "
        f"{verdict_while_gone.audit_class.value!r}, now {verdict.audit_class.value!r}"
    )
