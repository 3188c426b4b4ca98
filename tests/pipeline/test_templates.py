"""Labels are drawn with the template their binding names: `standard` (the built-in one of
their size) or a layout the pricing team uploaded."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from esl.db.template_models import LabelTemplateRow
from esl.errors import InvalidItemError, NotFoundError
from esl.services.templates import save_template
from rendering.templates import template_from_dict
from tests.pipeline.in_memory_gateway import radio
from tests.pipeline.small_world import T0, World
from tests.support.pipeline import expected_planes


def _price_only(height: float) -> dict[str, Any]:
    return {
        "size_class": "medium",
        "regions": [
            {"name": "name", "fill": "product_name", "box": [0.05, 0.02, 0.9, 0.2]},
            {"name": "price", "fill": "price", "box": [0.05, 0.25, 0.9, height]},
        ],
    }


@pytest.fixture
def world(engine: Engine) -> World:
    return World.priced(engine, count=2)


async def _deliver(world: World) -> int:
    planned = world.controller.plan_due_work()
    await world.send_due()
    world.dispatcher.settle(radio(world.gateway.take(), world.labels, now=world.clock.now))
    return planned


async def test_a_label_bound_to_an_uploaded_template_shows_that_layout(world: World) -> None:
    custom_label, standard_label = sorted(world.labels)
    with world.sessions.begin() as session:
        row = save_template(
            session, name="price-only", definition=_price_only(0.7), by="test", now=T0
        )
        first = template_from_dict(row.definition)
    world.bind_to_template(custom_label, "price-only")
    await _deliver(world)
    with world.sessions() as session:
        custom = expected_planes(
            session, label_id=custom_label, sku="MLK-1", at=world.clock.now, template=first
        )
        standard = expected_planes(
            session, label_id=standard_label, sku="MLK-1", at=world.clock.now
        )
    assert custom != standard
    assert world.labels[custom_label].shown == custom
    assert world.labels[standard_label].shown == standard

    # A new version of the layout reaches the labels bound to it at the next poll (long
    # before the periodic re-plan), and only them.
    assert await _deliver(world) == 0
    with world.sessions.begin() as session:
        row = save_template(
            session, name="price-only", definition=_price_only(0.5), by="test", now=T0
        )
        assert row.version == 2
        second = template_from_dict(row.definition)
    world.clock.advance(timedelta(seconds=30))
    assert await _deliver(world) == 1
    assert await _deliver(world) == 0  # noted: not planned again at every poll
    with world.sessions() as session:
        assert world.labels[custom_label].shown == expected_planes(
            session, label_id=custom_label, sku="MLK-1", at=world.clock.now, template=second
        )


def test_saving_the_same_layout_again_keeps_its_version(world: World) -> None:
    with world.sessions.begin() as session:
        save_template(session, name="p", definition=_price_only(0.7), by="test", now=T0)
        again = save_template(session, name="p", definition=_price_only(0.7), by="test", now=T0)
        assert again.version == 1


def test_binding_to_a_template_that_does_not_exist_is_refused(world: World) -> None:
    with pytest.raises(NotFoundError, match="template"):
        world.bind_to_template(sorted(world.labels)[0], "no-such-layout")


def test_a_layout_rendering_would_refuse_is_not_stored(world: World) -> None:
    bad = {"regions": [{"name": "price", "fill": "price", "box": [0.5, 0.5, 0.9, 0.9]}]}
    with world.sessions.begin() as session, pytest.raises(InvalidItemError, match="canvas"):
        save_template(session, name="bad", definition=bad, by="test", now=T0)
    with world.sessions.begin() as session, pytest.raises(InvalidItemError, match="built-in"):
        save_template(session, name="standard", definition=_price_only(0.7), by="t", now=T0)


async def test_a_template_for_another_size_of_label_is_reported_not_drawn(world: World) -> None:
    label_id = sorted(world.labels)[0]
    large = {**_price_only(0.7), "size_class": "large"}
    with world.sessions.begin() as session:
        save_template(session, name="poster", definition=large, by="test", now=T0)
    world.bind_to_template(label_id, "poster")
    with world.sessions.begin() as session:
        result = world.controller.planner.plan(
            session, at=world.clock.now, now=world.clock.now, label_ids=[label_id]
        )
    assert result.planned == 0
    assert "made for large labels" in result.unplannable[label_id]


async def test_a_stored_template_no_longer_valid_leaves_its_label_unplanned(
    world: World,
) -> None:
    """A definition stored before `"inverted": "false"` was refused (bool() read it as
    true): its label is not drawn with a box its author turned off, it is left unplanned
    with the reason, and the other labels are planned."""
    bound, other = sorted(world.labels)
    with world.sessions.begin() as session:
        save_template(session, name="boxed", definition=_price_only(0.7), by="test", now=T0)
        row = session.get(LabelTemplateRow, "boxed")
        assert row is not None
        regions = [*row.definition["regions"][:1], {**row.definition["regions"][1],
                                                     "inverted": "false"}]  # fmt: skip
        row.definition = {**row.definition, "regions": regions}
    world.bind_to_template(bound, "boxed")
    with world.sessions.begin() as session:
        result = world.controller.planner.plan(
            session, at=world.clock.now, now=world.clock.now, label_ids=[bound, other]
        )
    assert bound in result.unplannable
    assert (
        "'inverted' is true or false (JSON), not 'false'; put the template again"
        in (result.unplannable[bound])
    )
    assert other not in result.unplannable
