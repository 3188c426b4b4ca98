"""A label that drew a new price and answered, its answer held up at its gateway: the
start of the tests of an answer relayed late (after a reset, a blank check-in)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine

from gateways.base import Uplink
from tests.pipeline.in_memory_gateway import radio
from tests.pipeline.small_world import PRICES_A, World
from tests.support.pipeline import publish_prices

__all__ = ["new_price_drawn_answer_held"]


async def new_price_drawn_answer_held(engine: Engine) -> tuple[World, str, list[Uplink]]:
    """One label showing PRICES_A; five minutes on MLK-1 goes to 2.99 and the label draws
    it. The world, the label and its answers, not yet settled."""
    world = await World.showing(engine, PRICES_A, count=1)
    label_id = sorted(world.labels)[0]
    world.clock.advance(timedelta(minutes=5))
    publish_prices(world.sessions, {"MLK-1": "2.99"}, now=world.clock.now)
    world.controller.plan_due_work()
    await world.send_due()
    return world, label_id, radio(world.gateway.take(), world.labels, now=world.clock.now)
