"""A provisioning file that lists a registered label (same id, same key) as another
display model: the panel at that address was swapped (a 2.9" BWR replaced by a 2.9" BW),
or the tag's type changed and the gateway's file was edited to say so.

Before: neither refused nor taken. The import reported success ("0 added"), the
controller kept drawing for the old panel, and the gateway (which holds the file's
model) refused every image as WRONG_MODEL; there was no way to change a label's model
afterwards (no route, and a retired id cannot be registered again). Now the file's
model is taken, reported per label, and the label is planned again for its new panel:
at the controller's next look, a full image (no delta against the old panel's), older
frames for the old panel superseded.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from sqlalchemy import Engine, select

from esl.db.engine import session_factory
from esl.db.models import LabelBindingRow, LabelRow, OutboxRow
from esl.pipeline import register_provisioned_labels
from esl.pipeline.label_models import ModelChange
from firmware_sim.fleet import build_labels, make_fleet
from firmware_sim.images import ImageStore
from tests.pipeline.in_memory_gateway import radio
from tests.pipeline.small_world import T0, World
from tests.support.pipeline import expected_planes, publish_prices


def test_a_label_listed_as_another_model_takes_it_and_says_so(engine: Engine) -> None:
    fleet = make_fleet(store="S01", gateway="gw1", count=1, model_id="2.9-bwr")
    sessions = session_factory(engine)
    with sessions.begin() as session:
        register_provisioned_labels(session, fleet, store="S01", gateway="gw1", now=T0)
    swapped = [dataclasses.replace(fleet[0], model_id="2.9-bw")]
    remodelled: list[ModelChange] = []
    with sessions.begin() as session:
        added = register_provisioned_labels(
            session, swapped, store="S01", gateway="gw1", now=T0, remodelled=remodelled
        )
    assert added == 0
    assert remodelled == [ModelChange(fleet[0].label_id, "2.9-bwr", "2.9-bw")]
    with sessions.begin() as session:
        label = session.get(LabelRow, fleet[0].label_id)
        assert label is not None
        assert label.model == "2.9-bw"


async def test_a_swapped_panel_gets_its_price_drawn_for_it_at_the_next_look(
    engine: Engine,
) -> None:
    world = await World.showing(engine, {"MLK-1": "3.49"}, count=1)
    (label_id,) = world.labels
    # A new price goes out while the old panel is being taken off the shelf: lost.
    world.clock.advance(timedelta(minutes=1))
    publish_prices(world.sessions, {"MLK-1": "2.99"}, now=world.clock.now)
    world.controller.plan_due_work()
    await world.send_due()
    assert [f.label_id for f in world.gateway.take()] == [label_id]
    with world.sessions() as session:
        old_frames = list(
            session.scalars(select(OutboxRow.id).where(OutboxRow.label_id == label_id))
        )

    # A 2.9" BW panel at the same address, with the same key, and the file says so.
    (provision,) = make_fleet(store="S01", gateway="gw1", count=1)
    swapped = dataclasses.replace(provision, model_id="2.9-bw", key=world.keys[label_id])
    (world.labels[label_id],) = build_labels([swapped], now=world.clock.now, images=ImageStore())
    remodelled: list[ModelChange] = []
    with world.sessions.begin() as session:
        register_provisioned_labels(
            session, [swapped], store="S01", gateway="gw1", now=world.clock.now,
            remodelled=remodelled,
        )  # fmt: skip
    assert remodelled == [ModelChange(label_id, "2.9-bwr", "2.9-bw")]

    # The controller's next look plans it for the new panel, a whole image.
    world.clock.advance(timedelta(seconds=1))
    world.controller.plan_due_work()
    await world.send_due()
    sent = world.gateway.take()
    assert [f.label_id for f in sent] == [label_id]
    with world.sessions() as session:
        rows = {
            row.id: row
            for row in session.scalars(select(OutboxRow).where(OutboxRow.label_id == label_id))
        }
        binding = session.scalar(
            select(LabelBindingRow).where(
                LabelBindingRow.label_id == label_id, LabelBindingRow.unbound_at.is_(None)
            )
        )
        assert binding is not None
        assert (binding.sku, binding.bound_by) == ("MLK-1", "model change 2.9-bwr -> 2.9-bw")
    new = [row for row_id, row in rows.items() if row_id not in old_frames]
    assert len(new) == 1
    assert new[0].base_hash is None  # full: no delta on the old panel's image
    assert rows[max(old_frames)].status == "superseded"  # 2.99 drawn for the old panel
    world.dispatcher.settle(radio(sent, world.labels, now=world.clock.now))

    with world.sessions() as session:
        due = expected_planes(session, label_id=label_id, sku="MLK-1", at=world.clock.now)
    assert (due.width, due.height, due.has_accent) == (296, 128, False)
    assert world.labels[label_id].shown == due
    assert world.panel_hash(label_id) == world.state(label_id).displayed_hash
