"""A label announcing a reduction shows the Omnibus prior price from the price history."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine

from esl.db.audit_models import LabelContentRow
from esl.db.engine import session_factory
from tests.pipeline.in_memory_gateway import radio
from tests.pipeline.small_world import PRICES_A, T0, World
from tests.support.pipeline import expected_planes, publish, publish_prices


def _publish_promotion(world: World) -> None:
    items = [
        {
            "action": "upsert_promotion",
            "promotion_id": "WEEK-20",
            "name": "-20%",
            "kind": "percent_off",
            "percent": "20",
            "skus": [world.sku],
        }
    ]
    publish(world.sessions, items, now=world.clock.now, title="milk week")


@pytest.mark.parametrize(
    ("sku", "history", "shown"),
    [
        # Coffee: the lowest price of the 30 days before the reduction.
        ("CFE-1", ("49.99", "59.99"), ("47.99", "49.99")),
        # Milk spoils quickly, but its list price was raised 10 days before the reduction:
        # not the raised price before it (PL art. 4 ust. 4's option) but the 30-day low,
        # so the rise is not announced as a saving (docs/pricing.md, perishable).
        ("MLK-1", ("2.99", "3.49"), ("2.79", "2.99")),
    ],
)
async def test_a_reduction_on_the_shelf_shows_the_prior_price_from_the_price_history(
    engine: Engine, sku: str, history: tuple[str, str], shown: tuple[str, str]
) -> None:
    sessions = session_factory(engine)
    publish_prices(sessions, {**PRICES_A, sku: history[0]}, now=T0 - timedelta(days=20))
    publish_prices(sessions, {sku: history[1]}, now=T0 - timedelta(days=10))
    world = World(engine, sku=sku)
    world.controller.plan_due_work()
    await world.send_due()
    world.dispatcher.settle(radio(world.gateway.take(), world.labels, now=world.clock.now))

    world.clock.advance(timedelta(minutes=1))
    _publish_promotion(world)  # 20 % off the current price
    world.controller.plan_due_work()
    await world.send_due()
    world.dispatcher.settle(radio(world.gateway.take(), world.labels, now=world.clock.now))

    label_id = sorted(world.labels)[0]
    with world.sessions() as session:
        recorded = session.get(LabelContentRow, world.state(label_id).displayed_hash)
        expected = expected_planes(session, label_id=label_id, sku=sku, at=world.clock.now)
    assert recorded is not None
    assert (recorded.price, recorded.prior_price) == tuple(Decimal(p) for p in shown)
    world.labels[label_id].state(now=world.clock.now + timedelta(seconds=20))
    assert world.labels[label_id].shown == expected
