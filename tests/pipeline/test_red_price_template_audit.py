"""A template with the price in `accent` ink, uploaded and bound: the controller planned the
plain (unreduced) label, the panel showed a red price with no prior-price line (an announced
reduction without its 30-day low, docs/templates.md "a red price is an announcement too"),
and the audit called the shelf `match`. The plain price is now drawn black, so the panel
and the audit's `match` agree."""

from __future__ import annotations

import numpy as np
from sqlalchemy import Engine

from esl.services.labels import bind_label
from esl.services.templates import save_template
from rendering.display_models import DISPLAY_MODELS
from rendering.encoding import image_from_planes
from tests.pipeline.small_world import T0, World
from tests.support.audit import audit_by_label
from tests.support.pipeline import ADMIN

RED_PRICE = {
    "regions": [
        {"name": "name", "fill": "product_name", "box": [0, 0, 1, 0.3]},
        {"name": "price", "fill": "price", "box": [0, 0.3, 1, 0.55], "weight": "bold",
         "ink": "accent"},
        {"name": "unit", "fill": "unit_price", "box": [0, 0.85, 1, 0.15]},
    ],
}  # fmt: skip


async def test_a_red_plain_price_is_not_audited_as_match(engine: Engine) -> None:
    world = World.priced(engine, count=1)
    (label_id,) = world.labels
    with world.sessions.begin() as session:
        save_template(session, name="red", definition=RED_PRICE, by="admin", now=T0)
        bind_label(session, principal=ADMIN, label_id=label_id, sku="MLK-1", template="red",
                   now=T0)  # fmt: skip
    await world.converge()
    label = world.labels[label_id]
    model = DISPLAY_MODELS[label.hardware.model.id]
    assert label.shown is not None
    pixels = np.asarray(image_from_planes(label.shown, palette=model.palette))
    red = int((pixels == 2).sum())
    verdict = audit_by_label(world.sessions, world.clock.now)[label_id]
    assert verdict.audit_class.value == "match"
    assert red == 0, (
        f"the panel shows {red} px of {model.accent} (a red price, no reduction, no prior "
        f"price) and the audit says {verdict.audit_class.value!r}"
    )
