"""One label's unexpected render error leaves that label unplanned and plans every other
(docs/pipeline.md, planning.py; docs/templates.md). A product name with a line break once
made Pillow raise RuntimeError inside rendering and the whole planning pass failed: no
label of the store got its price. That input is refused now, so the renderer's fault is
injected here: no real input is known to make it fail unforeseen, and the guarantee is
for the next one nobody foresaw."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from esl.services.health import label_conditions
from esl.services.label_status import LabelCondition, LabelStatus
from esl.services.labels import bind_label
from rendering.cache import RenderCache
from rendering.content import LabelContent
from tests.pipeline.small_world import World
from tests.support.pipeline import ADMIN, publish_prices


def _conditions(world: World, *label_ids: str) -> dict[str, LabelCondition]:
    with world.sessions() as session:
        rows = label_conditions(session, now=world.clock.now, label_ids=list(label_ids))
        return {row.label_id: row.condition for row in rows}


async def test_a_render_that_fails_unexpectedly_leaves_only_its_label_unplanned(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    world = World.priced(engine, count=2)
    milk, cheese = sorted(world.labels)
    with world.sessions.begin() as session:
        bind_label(session, principal=ADMIN, label_id=cheese, sku="CHS-1",
                   template="standard", now=world.clock.now)  # fmt: skip
    await world.converge()
    milk_before, cheese_before = world.panel_hash(milk), world.panel_hash(cheese)
    render = RenderCache.render

    def failing_for_milk(cache: RenderCache, content: LabelContent, **kwargs: Any) -> Any:
        if content.sku == "MLK-1":
            raise RuntimeError("raqm_layout() failed.")
        return render(cache, content, **kwargs)

    monkeypatch.setattr(RenderCache, "render", failing_for_milk)
    world.clock.advance(timedelta(minutes=1))
    publish_prices(world.sessions, {"MLK-1": "3.29", "CHS-1": "7.99"}, now=world.clock.now)
    with caplog.at_level(logging.WARNING, logger="esl.pipeline.planning"):
        world.controller.plan_due_work()  # raised RuntimeError: the whole pass failed
        await world.converge()

    assert world.panel_hash(cheese) != cheese_before, "the cheese label never got 7.99"
    assert world.panel_hash(milk) == milk_before, "the milk label keeps the image it shows"
    conditions = _conditions(world, milk, cheese)
    assert conditions[cheese].status is LabelStatus.UP_TO_DATE
    assert conditions[milk].status is LabelStatus.UNPLANNED
    reason = "not drawn: unexpected RuntimeError: raqm_layout() failed."
    assert conditions[milk].reason == reason
    # Logged with its traceback, for whoever finds out why.
    logged = [r for r in caplog.records if r.exc_info and milk in r.getMessage()]
    assert logged
    assert {r.levelno for r in logged} == {logging.ERROR}

    # The renderer put right, the next pass plans the label and the reason goes.
    monkeypatch.setattr(RenderCache, "render", render)
    world.clock.advance(timedelta(minutes=1))
    publish_prices(world.sessions, {"MLK-1": "3.19"}, now=world.clock.now)
    world.controller.plan_due_work()
    await world.converge()
    assert world.panel_hash(milk) != milk_before
    assert _conditions(world, milk)[milk].status is LabelStatus.UP_TO_DATE
    assert world.state(milk).unplanned_reason is None
