"""A store with a second gateway: a label of gw1 heard (also) via gw2."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from sqlalchemy import Engine, select

from esl.db.models import GatewayRow, SecurityEventRow, StoreRow
from gateways.base import Uplink
from tests.pipeline.in_memory_gateway import radio
from tests.pipeline.small_world import World

__all__ = ["add_gateway", "rounds", "security_events", "two_gateway_world", "via"]


def add_gateway(world: World, gateway: str = "gw2", store: str = "S01") -> None:
    """Register an MQTT gateway (and its store, if new)."""
    with world.sessions.begin() as session:
        if session.get(StoreRow, store) is None:
            session.add(StoreRow(code=store, name=store))
            session.flush()
        session.add(GatewayRow(id=gateway, store=store, transport="mqtt", name=gateway))


def security_events(world: World) -> list[tuple[str, str | None]]:
    with world.sessions() as session:
        return list(session.execute(select(SecurityEventRow.kind, SecurityEventRow.label_id)).all())


async def two_gateway_world(engine: Engine) -> tuple[World, str]:
    """One label of gw1 showing MLK-1 at 3.49 in S01, which has gw2 too; five minutes on."""
    world = await World.showing(engine, {"MLK-1": "3.49"}, count=1)
    add_gateway(world)
    world.clock.advance(timedelta(minutes=5))
    return world, sorted(world.labels)[0]


def via(uplink: Uplink, gateway: str, store: str = "S01") -> Uplink:
    """`uplink` as relayed by another gateway (a roamed label, or a replay)."""
    return replace(uplink, store=store, gateway=gateway)


async def rounds(
    world: World,
    label_id: str,
    count: int,
    *,
    reaches: str,
    replayed: Uplink | None = None,
) -> list[str]:
    """`count` rounds of 30 s in which only frames via `reaches` get to the label, and it
    checks in via `reaches` after each; `replayed` (an old uplink, as relayed) is
    published again before each round. The gateways frames went out through."""
    through: list[str] = []
    for _ in range(count):
        if replayed is not None:
            world.dispatcher.settle([replayed])
        world.clock.advance(timedelta(seconds=30))
        world.controller.plan_due_work()
        await world.send_due()
        sent = world.gateway.take()
        through += [downlink.gateway for downlink in sent]
        reached = [downlink for downlink in sent if downlink.gateway == reaches]
        world.dispatcher.settle(radio(reached, world.labels, now=world.clock.now))
        world.dispatcher.settle([via(world.check_in(label_id), reaches)])
    return through
