"""A price that its template cannot draw legibly is not sent: the label is unplanned.

A retailer's template with a narrow price region drew 3,49 zł at 32 px; 1 299,99 zł does
not fit it at the display's minimum size (11 px on 2.9"). The controller used to shrink
the price under it (to 7 px), log `price_not_legible`, send it, and the audit called the
label `match`: a shelf price nobody reads, reported as shown. Now the label is left out
of the plan with the reason, as one whose prior-price line would be cut (docs/templates.md),
and health, the audit and `esl render` say why.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import Engine

from esl.services.health import label_conditions, label_health
from esl.services.label_status import LabelStatus
from esl.services.templates import save_template
from tests.pipeline.small_world import T0, World
from tests.support.audit import audit_by_label
from tests.support.pipeline import publish_prices

REFUSED = "not drawn: label not drawn, its price would not be legible"

NARROW: dict[str, Any] = {
    "size_class": "medium",
    "regions": [
        {"name": "name", "fill": "product_name", "box": [0.05, 0.02, 0.9, 0.2]},
        {"name": "price", "fill": "price", "box": [0.05, 0.25, 0.15, 0.7]},
    ],
}


async def test_a_price_its_template_cannot_draw_legibly_leaves_the_label_unplanned(
    engine: Engine,
) -> None:
    world = World.priced(engine, count=2)
    narrow, other = sorted(world.labels)
    with world.sessions.begin() as session:
        save_template(session, name="narrow", definition=NARROW, by="test", now=T0)
    world.bind_to_template(narrow, "narrow")
    await world.converge()
    assert audit_by_label(world.sessions, world.clock.now)[narrow].shows_due  # 3,49 zł

    world.clock.advance(timedelta(minutes=1))
    publish_prices(world.sessions, {"MLK-1": "1299.99"}, now=world.clock.now)
    world.controller.plan_due_work()
    await world.converge()

    verdict = audit_by_label(world.sessions, world.clock.now)[narrow]
    assert verdict.audit_class.is_mismatch, (verdict.audit_class.value, verdict.reason)
    assert f"the controller cannot plan it: {REFUSED}" in verdict.reason
    with world.sessions() as session:
        ((_, _, condition, _, _),) = label_conditions(
            session, now=world.clock.now, label_ids=[narrow]
        )
        (health,) = label_health(session, now=world.clock.now)
    assert condition.status is LabelStatus.UNPLANNED
    assert condition.reason is not None
    assert condition.reason.startswith(REFUSED)
    assert "1299.99" in condition.reason
    assert (health.up_to_date, health.unplanned) == (1, 1)
    assert audit_by_label(world.sessions, world.clock.now)[other].shows_due
