"""A price changed and changed back while the first change is on its way, then a plan
of the same pixels (a new layout version that draws this label alike): the label took
the first change, nothing it answered reached the controller, and the frame that put
the price back was lost on the way.

Found by red-team review: the plan of the layout's new version found the image equal to
what the record said the label showed and, the image last planned being the one it
confirmed (the price back equals the price before the change), believed nothing on its
way could change the panel (`LabelState.settled_on`). It superseded the frame putting
the price back, which would have been sent again, and recorded the label as up to date
on 3.49 while its panel showed 4.99: health up to date, the audit a match, with no
frame open, until a later report of the label contradicted the record (its next check-in;
a label that sends none answers a keep-alive ping after 45 minutes of silence).
Simulated label, the real controller and dispatcher, one test clock.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from esl.audit.gather import gather_audit
from esl.services.health import label_health
from esl.services.templates import save_template
from rendering.templates import template_from_dict
from tests.pipeline.in_memory_gateway import radio
from tests.pipeline.small_world import T0, World
from tests.support.pipeline import expected_planes, publish_prices


def _layout(*, validity: bool) -> dict[str, Any]:
    regions: list[dict[str, Any]] = [
        {"name": "name", "fill": "product_name", "box": [0.05, 0.02, 0.9, 0.2]},
        {"name": "price", "fill": "price", "box": [0.05, 0.25, 0.9, 0.5]},
    ]
    if validity:  # "do 30.11": drawn only while a promotion runs
        regions.append({"name": "until", "fill": "validity", "box": [0.05, 0.8, 0.9, 0.15]})
    return {"size_class": "medium", "regions": regions}


@pytest.fixture
def world(engine: Engine) -> World:
    return World.priced(engine, count=1)


async def test_a_layout_version_drawn_alike_while_a_price_back_is_lost_does_not_confirm_it(
    world: World,
) -> None:
    (label_id,) = world.labels
    label = world.labels[label_id]
    with world.sessions.begin() as session:
        first = template_from_dict(
            save_template(
                session, name="shelf", definition=_layout(validity=False), by="test", now=T0
            ).definition
        )
    world.bind_to_template(label_id, "shelf")
    await world.converge()  # 3.49 in the layout "shelf"

    world.clock.advance(timedelta(minutes=1))
    publish_prices(world.sessions, {"MLK-1": "4.99"}, now=world.clock.now)
    world.controller.plan_due_work()
    await world.send_due()
    raised = world.gateway.take()
    assert len(raised) == 1
    world.clock.advance(timedelta(seconds=2))
    publish_prices(world.sessions, {"MLK-1": "3.49"}, now=world.clock.now)  # back
    world.controller.plan_due_work()
    await world.send_due()
    assert len(world.gateway.take()) == 1  # the price back: lost on its way
    # The label takes 4.99; its answer is lost too.
    world.clock.advance(timedelta(seconds=5))
    radio(raised, world.labels, now=world.clock.now)

    # The pricing team adds the promotion's last day to the layout; milk is on no
    # promotion, so its label draws exactly as before.
    with world.sessions.begin() as session:
        second = template_from_dict(
            save_template(
                session, name="shelf", definition=_layout(validity=True), by="test", now=T0
            ).definition
        )
    with world.sessions() as session:
        due_first, due_second = (
            expected_planes(
                session, label_id=label_id, sku="MLK-1", at=world.clock.now, template=layout
            )
            for layout in (first, second)
        )
    assert due_first == due_second
    assert label.shown != due_second, "the panel shows 4.99"

    world.clock.advance(timedelta(seconds=30))
    await world.converge()  # the new version planned; then nothing is open

    label.synchronize(now=world.clock.now)
    state = world.state(label_id)
    with world.sessions() as session:
        (health,) = label_health(session, now=world.clock.now)
        (verdict,) = gather_audit(
            session, at=world.clock.now, now=world.clock.now, currency="PLN", locale="pl_PL"
        ).report.labels
    panel = label.shown_hash.hex() if label.shown_hash else None
    assert label.shown == due_second, (
        f"the panel shows 4.99 ({str(panel)[:12]}) while the record confirms "
        f"{str(state.confirmed_hash)[:12]} (displayed {str(state.displayed_hash)[:12]}); "
        f"up to date: {health.up_to_date}; audit: {verdict.audit_class.value}"
    )
    assert state.confirmed_hash == panel
    assert health.up_to_date == 1
    assert verdict.shows_due
