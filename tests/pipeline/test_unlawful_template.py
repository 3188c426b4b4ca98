"""A label its template cannot draw lawfully (the prior-price line of an announced
reduction overlapped by another region, refused since the overlap finding) is left out
of the plan and reported; the controller goes on planning every other label. Before,
the refusal (`UnlawfulLabelError`) escaped planning and ended the controller."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine

from esl.db.engine import session_factory
from esl.services.labels import bind_label
from esl.services.templates import save_template
from tests.pipeline.small_world import PRICES_A, T0, World
from tests.support.pipeline import ADMIN, publish, publish_prices

# An uploaded retailer template whose badge is laid over the prior-price line.
OVERLAPPING = {
    "regions": [
        {"name": "price", "fill": "price", "box": [0.0, 0.0, 0.6, 1.0], "weight": "bold"},
        {"name": "name", "fill": "product_name", "box": [0.62, 0.0, 0.38, 0.5],
         "max_lines": 3, "min_text_px": 8},
        {"name": "prior", "fill": "prior_price", "box": [0.62, 0.5, 0.38, 0.26],
         "max_lines": 3, "when": ["reduced"]},
        {"name": "badge", "fill": "promotion_badge", "box": [0.62, 0.5, 0.38, 0.26],
         "inverted": True, "ink": "accent", "when": ["promotion"]},
    ],
}  # fmt: skip


async def test_a_label_its_template_draws_unlawfully_is_left_out_and_the_rest_planned(
    engine: Engine,
) -> None:
    sessions = session_factory(engine)
    publish_prices(sessions, {**PRICES_A, "MLK-1": "2.99"}, now=T0 - timedelta(days=20))
    publish_prices(sessions, {"MLK-1": "3.49"}, now=T0 - timedelta(days=10))
    world = World(engine, count=3)
    overlapped, *others = sorted(world.labels)
    with world.sessions.begin() as session:
        save_template(session, name="strip", definition=OVERLAPPING, by="admin", now=T0)
        bind_label(
            session, principal=ADMIN, label_id=overlapped, sku="MLK-1", template="strip", now=T0
        )
    await world.converge()
    before = {label_id: world.state(label_id).displayed_hash for label_id in world.labels}

    world.clock.advance(timedelta(minutes=1))
    items = [
        {
            "action": "upsert_promotion",
            "promotion_id": "WEEK-20",
            "name": "-20%",
            "kind": "percent_off",
            "percent": "20",
            "skus": ["MLK-1"],
        }
    ]
    publish(world.sessions, items, now=world.clock.now, title="milk week")
    world.controller.plan_due_work()  # before: UnlawfulLabelError out of the controller
    await world.converge()

    # The others show the reduction; the overlapped one keeps the image it had.
    for label_id in others:
        state = world.state(label_id)
        assert state.displayed_hash != before[label_id]
        assert state.confirmed_hash == state.desired_hash == state.displayed_hash
    assert world.state(overlapped).displayed_hash == before[overlapped]
