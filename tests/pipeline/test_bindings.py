"""A label bound to a product, or bound anew, is planned at the controller's next poll."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select, update

from esl.db.models import LabelBindingRow
from esl.services.labels import bind_label
from tests.pipeline.small_world import T0, World
from tests.support.pipeline import ADMIN


@pytest.fixture
def world(engine: Engine) -> World:
    world = World.priced(engine, count=3)
    world.controller.plan_due_work()  # every label planned once
    return world


def _rebind(world: World, label_id: str, sku: str, *, as_id: int | None = None) -> int:
    """Re-bind through the service; `as_id` renumbers the new binding, standing for one
    whose id was taken earlier than the others' but committed after them."""
    with world.sessions.begin() as session:
        binding = bind_label(
            session, principal=ADMIN, label_id=label_id, sku=sku, template="standard", now=T0
        )
        if as_id is None:
            return binding.id
        session.execute(
            update(LabelBindingRow).where(LabelBindingRow.id == binding.id).values(id=as_id)
        )
        return as_id


def _planned_binding(world: World, label_id: str) -> int | None:
    return world.state(label_id).binding_id


def test_a_label_bound_anew_is_planned_at_the_next_poll(world: World) -> None:
    label_id = sorted(world.labels)[0]
    binding = _rebind(world, label_id, "CHS-1")
    world.clock.advance(timedelta(seconds=1))
    assert world.controller.plan_due_work() == 1
    assert _planned_binding(world, label_id) == binding
    assert world.controller.plan_due_work() == 0  # and only once


def test_a_binding_committed_after_a_later_one_is_still_planned(world: World) -> None:
    early, late = sorted(world.labels)[:2]
    with world.sessions() as session:
        newest = session.scalar(select(func.max(LabelBindingRow.id)))
    assert newest is not None
    # Two pricing clerks re-bind at once: one takes id newest + 1 but commits last.
    _rebind(world, late, "CFE-1", as_id=newest + 2)
    world.clock.advance(timedelta(seconds=1))
    assert world.controller.plan_due_work() == 1
    _rebind(world, early, "CHS-1", as_id=newest + 1)
    world.clock.advance(timedelta(seconds=1))
    assert world.controller.plan_due_work() == 1  # long before the periodic re-plan
    assert _planned_binding(world, early) == newest + 1
    assert _planned_binding(world, late) == newest + 2
