"""A flood of forged answers: before, each forged uplink wrote its own `security_events`
row, so one store's login could grow the table as fast as it published. Now events of one
(store, label, kind) within an interval are one row with a count of repeats, and past a
bound of labels per interval further labels share one row; health counts every event."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select

from esl.db.models import SecurityEventRow
from esl.services.security_events import security_summary
from esl.settings import Settings
from gateways.base import Uplink
from tests.pipeline.in_memory_gateway import radio
from tests.pipeline.small_world import World


def _forged(answer: Uplink) -> Uplink:
    """The genuine answer with its MAC altered."""
    return replace(answer, payload=answer.payload[:-1] + bytes([answer.payload[-1] ^ 0x5A]))


async def _answers(world: World) -> list[Uplink]:
    world.controller.plan_due_work()
    await world.send_due()
    return radio(world.gateway.take(), world.labels, now=world.clock.now)


async def test_a_flood_of_forged_answers_is_one_row_per_label_and_interval(
    engine: Engine,
) -> None:
    world = World.priced(engine, count=1)
    (label_id,) = world.labels
    (answer,) = await _answers(world)

    for _ in range(50):
        world.dispatcher.settle([_forged(answer)] * 20)

    with world.sessions() as session:
        assert session.scalar(select(func.count()).select_from(SecurityEventRow)) == 1
        rows = session.execute(
            select(SecurityEventRow.kind, SecurityEventRow.label_id, SecurityEventRow.repeats)
        ).all()
        assert rows == [("forged answer", label_id, 999)]
        (summary,) = security_summary(session, now=world.clock.now)
    assert summary.events == 1_000
    assert summary.kinds == {"forged answer": 1_000}
    async with world.admin_api() as api:
        health = (await api.get("/api/v1/health/security")).json()
    assert health["stores"][0]["events"] == 1_000
    assert [(e["label_id"], e["repeats"]) for e in health["events"]] == [(label_id, 999)]

    # The next interval starts a row of its own: when it happened stays readable.
    world.clock.advance(timedelta(minutes=1, seconds=1))
    world.dispatcher.settle([_forged(answer)])
    with world.sessions() as session:
        repeats = session.scalars(select(SecurityEventRow.repeats).order_by(SecurityEventRow.id))
        assert list(repeats) == [999, 0]
        assert security_summary(session, now=world.clock.now)[0].events == 1_001


async def test_past_the_bound_of_labels_per_interval_further_labels_share_one_row(
    engine: Engine,
) -> None:
    world = World.priced(
        engine,
        count=4,
        settings=Settings.model_construct(security_event_labels_per_interval=2),
    )
    answers = await _answers(world)
    assert len(answers) == 4

    for _ in range(3):
        world.dispatcher.settle([_forged(answer) for answer in answers])

    with world.sessions() as session:
        rows = session.execute(
            select(SecurityEventRow.label_id, SecurityEventRow.repeats).order_by(
                SecurityEventRow.id
            )
        ).all()
        assert len(rows) == 3
        assert [repeats for _, repeats in rows] == [2, 2, 5]
        assert rows[2][0] is None
        assert security_summary(session, now=world.clock.now)[0].events == 12
        # The shared row's latest event says whose it was.
        shared = session.scalars(
            select(SecurityEventRow.last_detail).where(SecurityEventRow.label_id.is_(None))
        ).one()
        assert shared is not None
        assert shared.split(": ")[0] in world.labels


async def test_a_flood_of_forged_answers_logs_one_line_a_minute_saying_how_many_it_left_out(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    """1.8 million log lines in four minutes of a bench flood: an operator's disk and log
    search drowned. Every forged answer is still counted."""
    world = World.priced(engine, count=1)
    (answer,) = await _answers(world)
    caplog.set_level(logging.WARNING, logger="esl.pipeline.verification")

    for _ in range(10):
        world.dispatcher.settle([_forged(answer)] * 100)
    world.clock.advance(timedelta(minutes=1, seconds=1))
    world.dispatcher.settle([_forged(answer)])

    lines = [r.getMessage() for r in caplog.records if "unverifiable" in r.getMessage()]
    assert len(lines) == 2, lines
    assert "more since" not in lines[0]
    assert "(999 more since the last line)" in lines[1]
    assert world.dispatcher.verifier.counts.forged == 1_001


async def test_a_row_of_repeats_shows_the_last_events_detail_besides_the_first(
    engine: Engine,
) -> None:
    """A coalesced row kept the first event's detail only: an operator reading it saw the
    first forgery of the interval, never the latest (a sender trying other lengths, other
    frames). It now keeps the last event's detail too, within one batch and across."""
    world = World.priced(engine, count=1)
    (label_id,) = world.labels
    (answer,) = await _answers(world)
    size = len(answer.payload)

    def _of_size(extra: int) -> Uplink:
        return replace(_forged(answer), payload=_forged(answer).payload + b"\0" * extra)

    world.dispatcher.settle([_of_size(0), _of_size(3)])  # one batch: a row written
    with world.sessions() as session:
        row = session.execute(
            select(SecurityEventRow.detail, SecurityEventRow.last_detail, SecurityEventRow.repeats)
        ).one()
    assert tuple(row) == (
        f"uplink of {size} bytes fails the label's MAC",
        f"uplink of {size + 3} bytes fails the label's MAC",
        1,
    )

    world.clock.advance(timedelta(seconds=10))
    world.dispatcher.settle([_of_size(7)])  # the next batch: added to that row
    async with world.admin_api() as api:
        health = (await api.get("/api/v1/health/security")).json()
    assert [
        (e["label_id"], e["detail"], e["last_detail"], e["repeats"]) for e in health["events"]
    ] == [
        (
            label_id,
            f"uplink of {size} bytes fails the label's MAC",
            f"uplink of {size + 7} bytes fails the label's MAC",
            2,
        )
    ]
