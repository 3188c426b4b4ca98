"""A store gateway's own status message is recorded within bounds and never stops the
controller's rounds for every store.

Found by review: `gateway_states.reason` is 128 characters, and a gateway may say what it
likes on its own status topic. On PostgreSQL a longer reason failed the write; the
dispatcher put the status back and raised, every round, so no frame left for any store.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from esl.db.models import GatewayStateRow
from gateways.base import GatewayState, GatewayStatus
from tests.pipeline.small_world import World
from tests.support.database import BACKENDS, backend_engine


@pytest.fixture(params=BACKENDS)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    with backend_engine(request.param, tmp_path) as engine:
        yield engine


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
