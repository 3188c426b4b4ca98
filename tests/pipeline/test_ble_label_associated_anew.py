"""A BLE label associated anew (a new device at its place, blank) is sent its whole image
at the controller's next rounds, as a refresh or a panel swapped for another model is:
its panel shows its due price within the minute, and the audit says `match` then.

Before, the record forgot what the label showed, but nothing planned it again until the
reconciliation pass (every 5 minutes): the shelf stayed blank, `unconfirmed`, for up to
5 minutes (a BLE label does not check in, so no check-in put it right sooner).

The real controller and dispatcher, firmware_sim labels through the in-memory gateway,
one test clock.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from sqlalchemy import Engine

from firmware_sim.fleet import build_labels, make_fleet
from firmware_sim.images import ImageStore
from tests.pipeline.small_world import World
from tests.support.audit import audit_by_label


async def test_a_label_associated_anew_shows_its_price_within_the_minute(engine: Engine) -> None:
    world = World.priced(engine, count=1)
    await world.converge()  # 3.49, acknowledged and shown
    (label_id,) = world.labels
    world.clock.advance(timedelta(minutes=1))
    # A new device, blank, takes the label's place (and key), and its association is
    # recorded.
    (provision,) = make_fleet(store="S01", gateway="gw1", count=1)
    device = dataclasses.replace(provision, key=world.keys[label_id])
    (world.labels[label_id],) = build_labels([device], now=world.clock.now, images=ImageStore())
    assert world.panel_hash(label_id) is None
    world.associated_anew(label_id, device="AA:BB:CC:00:00:01")
    verdict = audit_by_label(world.sessions, world.clock.now)[label_id]
    assert verdict.audit_class.value == "unconfirmed"

    await world.run_until(world.clock.now + timedelta(minutes=1))

    assert world.panel_hash(label_id) == world.hash_of(label_id), "its price, on the panel"
    verdict = audit_by_label(world.sessions, world.clock.now)[label_id]
    assert (verdict.audit_class.value, str(verdict.shown_price)) == ("match", "3.49")
