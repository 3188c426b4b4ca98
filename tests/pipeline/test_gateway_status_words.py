"""A store gateway's own status message is recorded within bounds and never stops the
controller's rounds for every store.

Found by review: `gateway_states.reason` is 128 characters, and a gateway may say what it
likes on its own status topic. On PostgreSQL a longer reason failed the write; the
dispatcher put the status back and raised, every round, so no frame left for any store.

Found by the wire hunt: `{"state": "offline", "reason": "power\u0000cut"}` was taken as
it is; PostgreSQL refuses a NUL in text, so the write failed (logged), but the dispatcher
had already marked the gateway offline: sends to it stopped while health said it was
online (and an `online` with a NUL resumed sends while the record said offline). The
reason now loses its control characters where the status is read, and the dispatcher
follows a status only once it is recorded.
"""

from __future__ import annotations

from sqlalchemy import Engine

from esl.db.models import GatewayStateRow
from gateways.base import GatewayState, GatewayStatus
from gateways.mqtt.topics import decode_status
from tests.pipeline.small_world import World
from tests.support.database import engine_on_every_backend  # noqa: F401 - fixtures


async def test_a_long_status_reason_is_cut_and_other_stores_updates_go_out(
    engine: Engine,
) -> None:
    world = World.priced(engine, count=1)  # store S01, gateway gw1
    world.controller.plan_due_work()
    # Another store's gateway, on its own status topic (its ACL allows it).
    world.dispatcher.handle_event(
        GatewayStatus(
            store="S99",
            gateway="S99-gw1",
            state=GatewayState.ONLINE,
            received_at=world.clock.now,
            reason="x" * 200,
        )
    )
    await world.send_due()
    assert [downlink.store for downlink in world.gateway.take()] == ["S01"]
    with world.sessions() as session:
        row = session.get(GatewayStateRow, ("S99", "S99-gw1"))
        assert row is not None
        assert row.reason == "x" * 127 + "…"


def _status(world: World, state: GatewayState, reason: str | None) -> GatewayStatus:
    return GatewayStatus(
        store="S01", gateway="gw1", state=state, received_at=world.clock.now, reason=reason
    )


def _recorded(world: World) -> tuple[bool, str | None] | None:
    with world.sessions() as session:
        row = session.get(GatewayStateRow, ("S01", "gw1"))
        return None if row is None else (row.online, row.reason)


async def test_a_status_reason_with_a_nul_is_recorded_without_it_and_sends_stop(
    engine: Engine,
) -> None:
    world = World.priced(engine, count=1)  # store S01, gateway gw1
    decoded = decode_status(b'{"state": "offline", "reason": "power\\u0000cut"}')
    assert decoded == (GatewayState.OFFLINE, "power cut")
    world.dispatcher.handle_event(_status(world, *decoded))
    world.controller.plan_due_work()
    await world.send_due()
    assert world.gateway.take() == []
    assert _recorded(world) == (False, "power cut")


async def test_a_status_the_database_refuses_neither_stops_nor_resumes_sends(
    engine: Engine,
) -> None:
    world = World.priced(engine, count=1)
    # A lone surrogate: text neither database stores (nor PostgreSQL a NUL), from any
    # gateway driver that hands the dispatcher such a reason.
    unrecordable = "power \ud800 cut"
    world.dispatcher.handle_event(_status(world, GatewayState.OFFLINE, unrecordable))
    world.controller.plan_due_work()
    await world.send_due()
    assert _recorded(world) is None
    assert [downlink.store for downlink in world.gateway.take()] == ["S01"]

    # Recorded offline; then an "online" the database refuses: still offline, no sends.
    world.dispatcher.handle_event(_status(world, GatewayState.OFFLINE, "shutdown"))
    await world.send_due()
    world.dispatcher.handle_event(_status(world, GatewayState.ONLINE, unrecordable))
    world.publish_flip_ahead()
    world.controller.plan_due_work()
    await world.send_due()
    assert _recorded(world) == (False, "shutdown")
    assert world.gateway.take() == []
