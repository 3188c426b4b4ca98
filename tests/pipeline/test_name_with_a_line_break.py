"""A product name with a line break or a tab, stored before the API and the CSV imports
refused one (docs/api.md), neither stops the controller nor puts a box on the shelf.
docs/templates.md: a label that cannot be drawn is "left out of its plan (logged as
unplannable, it keeps the image it shows) and plans every other label"; a character the
font cannot draw is a `ContentError` naming the field. Before, "\\n" failed every
planning pass with RuntimeError: raqm_layout() failed (the cheese label beside it never
got its new price), and a tab was drawn as a box. The milk label is reported `unplanned`
with that reason (docs/pipeline.md, Health)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, update

from esl.db.models import ProductRow
from esl.services.health import label_conditions
from esl.services.label_status import LabelStatus
from esl.services.labels import bind_label
from tests.pipeline.small_world import World
from tests.support.pipeline import ADMIN, publish_prices


@pytest.mark.parametrize(
    "name", ["Mleko UHT\n3,2% 1 l", "Mleko UHT\r\n3,2% 1 l", "Mleko\tUHT 3,2% 1 l"], ids=repr
)
async def test_a_name_that_cannot_be_drawn_leaves_its_labels_unplanned_and_the_others_planned(
    engine: Engine, name: str
) -> None:
    world = World.priced(engine, count=2)
    milk, cheese = sorted(world.labels)
    with world.sessions.begin() as session:
        bind_label(
            session,
            principal=ADMIN,
            label_id=cheese,
            sku="CHS-1",
            template="standard",
            now=world.clock.now,
        )
    await world.converge()
    milk_before, cheese_before = world.panel_hash(milk), world.panel_hash(cheese)
    with world.sessions.begin() as session:
        session.execute(update(ProductRow).where(ProductRow.sku == "MLK-1").values(name=name))

    world.clock.advance(timedelta(minutes=1))
    publish_prices(world.sessions, {"MLK-1": "3.29", "CHS-1": "7.99"}, now=world.clock.now)
    world.controller.plan_due_work()  # raised RuntimeError: raqm_layout() failed
    await world.converge()

    assert world.panel_hash(cheese) != cheese_before, "the cheese label never got 7.99"
    assert world.panel_hash(milk) == milk_before, "the milk label keeps the image it shows"
    # Health says so, with the reason, until the name is put right (not `up_to_date`).
    with world.sessions() as session:
        conditions = {
            row.label_id: row.condition
            for row in label_conditions(session, now=world.clock.now, label_ids=[milk, cheese])
        }
    assert conditions[cheese].status is LabelStatus.UP_TO_DATE
    assert conditions[milk].status is LabelStatus.UNPLANNED, conditions[milk]
    assert conditions[milk].reason is not None
    assert "product.name" in conditions[milk].reason
    with world.sessions.begin() as session:
        result = world.controller.planner.plan(
            session, at=world.clock.now, now=world.clock.now, label_ids=[milk]
        )
    assert result.planned == 0
    assert "product.name" in result.unplannable[milk]
