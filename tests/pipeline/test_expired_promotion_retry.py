"""A frame whose content is no longer due is not sent again by its retry.

Reported by a red-team tester: a promotion ending at E is planned as the image of now
(the promotion) with the flip to the regular price held behind it. The promotion's frame
is lost (or its answer, or the label sleeps) and E passes while the frame waits for its
retry: the retry then put the ended promotion on the panel, and only once it was
acknowledged was the flip released, so a label that missed the first delivery showed
an ended promotion (a wrong shelf price) after E.

Simulated labels, the real controller and dispatcher, one test clock (as
tests/pipeline/test_held_flips.py).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine, select

from esl.db.models import OutboxRow
from gateways.protocol import ImageUpdate, decode_frame
from tests.pipeline.in_memory_gateway import radio
from tests.pipeline.small_world import World
from tests.support.pipeline import publish_flash_promotion

STEP = timedelta(seconds=5)


@pytest.fixture
def world(engine: Engine) -> World:
    return World.priced(engine, count=1)


def _promotion_ending(world: World, label_id: str, lasting: timedelta) -> tuple[str, datetime]:
    """MLK-1 20 % off from now for `lasting`: the promotion's image hash and its end."""
    ends = (world.clock.now + lasting).replace(microsecond=0)
    publish_flash_promotion(
        world.sessions,
        now=world.clock.now,
        kind="percent_off",
        percent="20",
        valid_until=ends.isoformat(),
    )
    return world.hash_of(label_id), ends


def _waiting_rows_of(world: World, label_id: str, content_hash: str) -> list[str]:
    """The statuses of the label's rows of `content_hash` still waiting to be sent."""
    query = select(OutboxRow.status).where(
        OutboxRow.label_id == label_id,
        OutboxRow.content_hash == content_hash,
        OutboxRow.status.in_(("pending", "parked", "held")),
    )
    with world.sessions() as session:
        return list(session.scalars(query))


async def _run_until_settled(
    world: World,
    label_id: str,
    *,
    promotion: str,
    ends: datetime,
    heard_from: datetime,
    frames_lost: bool,
) -> None:
    """Poll, send and answer every 5 s until nothing is open. Before `heard_from` the
    frames never reach the label (`frames_lost`) or reach it and its answers are lost;
    then the label checks in. From `ends` on no frame may carry the promotion, none may
    wait to, and the record may never confirm what is due while the panel shows other."""
    label = world.labels[label_id]
    key = world.keys[label_id]
    woken = False
    for _ in range(600):
        now = world.clock.now
        if now >= heard_from and not woken:
            world.dispatcher.settle([world.check_in(label_id)])
            woken = True
        world.controller.plan_due_work()
        if now >= ends:
            assert not _waiting_rows_of(world, label_id, promotion), "the ended promotion waits"
        await world.send_due()
        sent = world.gateway.take()
        if now >= ends:
            for downlink in sent:
                command = decode_frame(downlink.payload, key=key, label_id=label_id).command
                assert not (
                    isinstance(command, ImageUpdate) and command.content_hash.hex() == promotion
                ), f"the ended promotion sent again {now - ends} after its end"
        if now >= heard_from:
            world.dispatcher.settle(radio(sent, world.labels, now=now))
        elif not frames_lost:
            radio(sent, world.labels, now=now)  # the answers are lost
        if now >= ends:
            label.synchronize(now=now)
            panel = label.shown_hash.hex() if label.shown_hash else None
            if frames_lost:
                assert panel != promotion, f"the ended promotion shown {now - ends} after"
            due = world.hash_of(label_id)
            if world.state(label_id).confirmed_hash == due:
                assert panel == due, "the record confirms what is due, the panel shows other"
        if (
            now > heard_from
            and not sent
            and all(status not in ("pending", "sent", "held") for _, status in world.rows(label_id))
        ):
            return
        world.clock.advance(STEP)
    raise AssertionError(f"not settled: rows {world.rows(label_id)}")


def _assert_shows_what_is_due(world: World, label_id: str) -> None:
    label = world.labels[label_id]
    label.synchronize(now=world.clock.now)
    due = world.hash_of(label_id)
    assert label.shown_hash is not None
    assert label.shown_hash.hex() == due
    state = world.state(label_id)
    assert state.confirmed_hash == due
    assert state.displayed_hash == due


@pytest.mark.parametrize(
    ("frames_lost", "lasting", "lost_after_end"),
    [
        pytest.param(True, timedelta(minutes=2), timedelta(minutes=1), id="frame-lost"),
        pytest.param(True, timedelta(minutes=2), timedelta(minutes=6), id="label-asleep"),
        # Every attempt spent before the end: the promotion's frame waits parked.
        pytest.param(True, timedelta(minutes=13), timedelta(minutes=5), id="parked"),
        pytest.param(False, timedelta(minutes=2), timedelta(minutes=1), id="answer-lost"),
    ],
)
async def test_a_retry_after_a_promotion_ended_never_sends_the_promotion(
    world: World, frames_lost: bool, lasting: timedelta, lost_after_end: timedelta
) -> None:
    label_id = sorted(world.labels)[0]
    await world.converge()  # 3.49
    promotion, ends = _promotion_ending(world, label_id, lasting)
    await _run_until_settled(
        world,
        label_id,
        promotion=promotion,
        ends=ends,
        heard_from=ends + lost_after_end,
        frames_lost=frames_lost,
    )
    _assert_shows_what_is_due(world, label_id)


async def test_a_retry_due_before_the_next_poll_sends_nothing_of_an_ended_promotion(
    world: World,
) -> None:
    """The dispatcher sends a retry as soon as it is due, between two controller polls
    (which release the flip): it weighs the frame itself at the send."""
    label_id = sorted(world.labels)[0]
    await world.converge()
    promotion, ends = _promotion_ending(world, label_id, timedelta(minutes=2))
    world.controller.plan_due_work()
    await world.send_due()
    assert len(world.gateway.take()) == 1  # the promotion's image of now, lost
    world.clock.now = ends + timedelta(seconds=30)
    world.dispatcher.step()  # its answer timed out: pending again, after a backoff
    assert world.gateway.take() == []
    assert _waiting_rows_of(world, label_id, promotion) == ["pending"]
    world.clock.advance(world.dispatcher.policy.max_delay)
    await world.send_due()  # no poll since: the flip is still held
    assert world.gateway.take() == []
    assert _waiting_rows_of(world, label_id, promotion) == []
    await world.converge()
    _assert_shows_what_is_due(world, label_id)
