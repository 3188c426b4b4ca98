"""A property test: random interleavings of price changes, frames, answers, replays,
forgeries, drops, duplicates and reordering against simulated labels, on the
dispatcher's own code and one clock.

Throughout, a label only ever shows content the controller planned for it. After
quiescence (every frame in the air delivered, every answer heard, check-ins, time for
retries), for every label: what the controller records as shown is what the panel shows,
and, unless an update was parked by the attacks themselves (tampered on every attempt,
or busy on every attempt), it is the content that is due.
"""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from esl.db.engine import create_engine_for, session_factory, upgrade_database
from esl.db.models import OutboxRow
from gateways.base import Downlink, Uplink
from tests.pipeline.in_memory_gateway import radio
from tests.pipeline.small_world import PRICES_A, T0, World
from tests.support.database import seed_reference_data
from tests.support.pipeline import publish_prices

PRICES = ("3.49", "2.99", "4.19")
OPERATIONS = (
    "publish",
    "send",
    "deliver",
    "forge",
    "drop",
    "answer",
    "duplicate",
    "replay",
    "tick",
)
# Parked by the attacks themselves: a frame altered on every attempt, a label kept busy.
EXPLAINED_PARKING = ("tampered in transit", "busy")

steps = st.lists(
    st.tuples(st.sampled_from(OPERATIONS), st.integers(min_value=0, max_value=1_000)),
    max_size=40,
)


class Scenario:
    def __init__(self, world: World) -> None:
        self.world = world
        self.air: list[Downlink] = []  # frames on their way to labels
        self.up: list[Uplink] = []  # answers on their way to the controller
        self.heard: list[Uplink] = []  # every answer ever sent: replay material
        self.planned: set[str] = set()  # every content hash the controller signed

    def note_planned(self) -> None:
        with self.world.sessions() as session:
            self.planned |= set(session.scalars(select(OutboxRow.content_hash)))

    def check_shown(self) -> None:
        for label in self.world.labels.values():
            if label.shown_hash is not None:
                assert label.shown_hash.hex() in self.planned

    def answers_for(self, frames: list[Downlink]) -> None:
        answers = radio(frames, self.world.labels, now=self.world.clock.now)
        self.up += answers
        self.heard += answers

    async def step(self, operation: str, pick: int) -> None:
        world = self.world
        if operation == "publish":
            world.clock.advance(timedelta(seconds=1))  # one publication per instant
            publish_prices(
                world.sessions, {"MLK-1": PRICES[pick % len(PRICES)]}, now=world.clock.now
            )
            world.controller.plan_due_work()
            self.note_planned()
        elif operation == "send":
            await world.send_due()
            self.air += world.gateway.take()
        elif operation == "deliver" and self.air:
            self.answers_for([self.air.pop(pick % len(self.air))])
        elif operation == "forge" and self.air:
            frame = self.air[pick % len(self.air)]  # a forged copy; the original stays
            payload = frame.payload[:-1] + bytes([frame.payload[-1] ^ 0x01])
            self.answers_for([replace(frame, payload=payload)])
        elif operation == "drop" and self.air:
            self.air.pop(pick % len(self.air))
        elif operation == "answer" and self.up:
            world.dispatcher.settle([self.up.pop(pick % len(self.up))])
        elif operation == "duplicate" and self.up:
            world.dispatcher.settle([self.up[pick % len(self.up)]])
        elif operation == "replay" and self.heard:
            old = self.heard[pick % len(self.heard)]
            world.dispatcher.settle([replace(old, received_at=world.clock.now)])
        elif operation == "tick":
            world.clock.advance(timedelta(seconds=5 + pick % 60))
        self.check_shown()

    async def quiesce(self) -> None:
        """Deliver everything, let retries and check-ins happen, until nothing is open."""
        world = self.world
        for _ in range(40):
            self.answers_for(self.air)
            self.air = []
            world.dispatcher.settle(self.up)
            self.up = []
            world.clock.advance(timedelta(minutes=11))  # past any backoff and refresh
            check_ins = [
                Uplink("S01", "gw1", report, world.clock.now)
                for label in world.labels.values()
                if (report := label.status_report(now=world.clock.now)) is not None
            ]
            world.dispatcher.settle(check_ins)
            await world.send_due()
            self.air = world.gateway.take()
            self.check_shown()
            if not self.air and not self.open_rows():
                return
        raise AssertionError(f"no quiescence: {self.open_rows()}")

    def open_rows(self) -> list[tuple[str, str, str | None]]:
        with self.world.sessions() as session:
            return [
                (label, status, reason)
                for label, status, reason in session.execute(
                    select(OutboxRow.label_id, OutboxRow.status, OutboxRow.parked_reason).where(
                        OutboxRow.status.in_(("pending", "sent"))
                    )
                )
            ]

    def parked(self, label_id: str) -> list[str]:
        with self.world.sessions() as session:
            return [
                reason or ""
                for reason in session.scalars(
                    select(OutboxRow.parked_reason).where(
                        OutboxRow.label_id == label_id, OutboxRow.status == "parked"
                    )
                )
            ]


async def play(world: World, operations: list[tuple[str, int]]) -> None:
    scenario = Scenario(world)
    world.controller.plan_due_work()
    scenario.note_planned()
    for operation, pick in operations:
        await scenario.step(operation, pick)
    await scenario.quiesce()
    for label_id, label in world.labels.items():
        state = world.state(label_id)
        shown = None if label.shown_hash is None else label.shown_hash.hex()
        assert state.displayed_hash == shown, label_id  # the record is the panel
        parked = scenario.parked(label_id)
        if parked:
            assert all(reason.startswith(EXPLAINED_PARKING) for reason in parked), parked
        else:
            assert shown == state.desired_hash == world.hash_of(label_id), label_id


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(operations=steps)
def test_any_interleaving_leaves_every_record_equal_to_its_panel(
    operations: list[tuple[str, int]],
) -> None:
    with tempfile.TemporaryDirectory() as directory:
        engine = create_engine_for(f"sqlite:///{Path(directory) / 'esl.sqlite'}")
        try:
            upgrade_database(engine)
            sessions = session_factory(engine)
            with sessions() as session, session.begin():
                seed_reference_data(session)
            publish_prices(sessions, PRICES_A, now=T0)
            asyncio.run(play(World(engine, count=2), operations))
        finally:
            engine.dispose()
