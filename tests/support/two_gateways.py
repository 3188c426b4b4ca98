"""A store with a second gateway: a label of gw1 heard (also) via gw2."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, select

from esl.db.models import GatewayRow, SecurityEventRow, StoreRow
from tests.pipeline.small_world import World

__all__ = ["add_gateway", "security_events", "two_gateway_world"]


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
