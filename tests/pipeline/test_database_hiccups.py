"""A database that refuses work for a while (locked by another writer) stalls the running
controller; once it answers again, every label converges and nothing is planned twice."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from typing import Any

import pytest
from sqlalchemy import Engine, event, func, select

from esl.db.models import LabelStateRow
from tests.pipeline.in_memory_gateway import radio
from tests.pipeline.small_world import World


async def _relay(world: World) -> None:
    """The radio: frames the controller sent reach their labels; answers come back."""
    while True:
        sent = world.gateway.take()
        if sent:
            world.gateway.deliver(list(radio(sent, world.labels, now=world.clock.now)))
        await asyncio.sleep(0.02)


def _confirmed(world: World) -> int:
    with world.sessions() as session:
        return (
            session.scalar(
                select(func.count())
                .select_from(LabelStateRow)
                .where(LabelStateRow.confirmed_hash.is_not(None))
            )
            or 0
        )


async def test_the_controller_rides_out_a_locked_database(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    @event.listens_for(engine, "connect")
    def _short_waits(connection: Any, _record: object) -> None:
        connection.execute("PRAGMA busy_timeout=50")  # fail fast instead of after 10 s

    engine.dispose()
    world = World.priced(engine, count=3)
    assert engine.url.database is not None
    blocker = sqlite3.connect(engine.url.database, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")  # another writer holds the database
    stop = asyncio.Event()
    relay = asyncio.create_task(_relay(world))
    running = asyncio.create_task(world.controller.run(stop))
    try:
        with caplog.at_level(logging.WARNING, logger="esl.pipeline"):
            # Wait until the controller has met the lock, not for a fixed time: on a busy
            # machine its first try may come late.
            for _ in range(600):
                if world.controller.outage.report().failed_tries >= 2:
                    break
                await asyncio.sleep(0.05)
            assert world.controller.outage.report().failed_tries >= 2
            assert world.gateway.sent == []
            assert all(world.labels[label_id].shown is None for label_id in world.labels)
            blocker.execute("COMMIT")
            for _ in range(200):
                if _confirmed(world) == len(world.labels):
                    break
                await asyncio.sleep(0.05)
        messages = " ".join(record.getMessage() for record in caplog.records)
        assert "database is locked" in messages
        for label_id in world.labels:
            state = world.state(label_id)
            assert state.confirmed_hash == state.displayed_hash == world.hash_of(label_id)
            assert world.rows(label_id) == [(1, "acked")]  # planned once, acked once
    finally:
        stop.set()
        await running
        relay.cancel()
        blocker.close()
