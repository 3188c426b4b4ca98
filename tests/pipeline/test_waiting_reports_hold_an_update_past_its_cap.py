"""Review37: a store gateway saying WAITING for a frame every health poll (30 s) held the
update far past the cap docs/protocol.md (Gateway reports) set: "never beyond
ESL_RETRY_MAX_ATTEMPTS timeouts from its send". Dispatcher.extend_flight (8384af2) counted
the cap from each attempt's own send, so every retry of the same frame (the same sequence,
which the gateway is still carrying) was held another ten minutes: a tag the gateway never
gets to (a radio kept busy by others, a stuck worker) kept its update `sent`, never parked
`offline` nor shown by `esl health`, for 52 minutes.
The wait is now bounded by its own setting, ESL_RETRY_WAITING_LIMIT_S (30 minutes), counted
from the update's first send as the row records it (`outbox.first_sent_at`), so neither a
retry nor a controller restart (which sends a frame left `sent` again) starts it anew. It
spends no attempts: a tag queued for long behind others at its AP's one radio is still
waited for (tests/gateways/oepl/test_controller_waits_for_a_busy_access_point.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from esl.db.models import OutboxRow
from esl.settings import Settings
from gateways.base import Uplink
from gateways.protocol import GatewayReport, ReportFlag, encode_gateway_report, peek_header
from tests.pipeline.small_world import World
from tests.support.database import BACKENDS, backend_engine
from tests.support.pipeline import publish_prices

SETTINGS = Settings.defaults()
LIMIT = timedelta(minutes=30)  # ESL_RETRY_WAITING_LIMIT_S, by default (docs/operations.md)


@pytest.fixture(params=BACKENDS)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    # The first send is kept on the row (migration 0042): on both backends.
    with backend_engine(request.param, tmp_path) as engine:
        yield engine


@pytest.mark.parametrize("restart_after", [None, timedelta(minutes=9)], ids=["running", "restart"])
async def test_waiting_reports_hold_an_update_no_longer_than_the_waiting_limit(
    engine: Engine, restart_after: timedelta | None
) -> None:
    world = World(engine, count=1, settings=SETTINGS)
    label_id = sorted(world.labels)[0]
    publish_prices(world.sessions, {"MLK-1": "3.79"}, now=world.clock.now)
    world.controller.plan_due_work()
    await world.send_due()
    (frame,) = world.gateway.take()
    sequence = peek_header(frame.payload).sequence
    started = world.clock.now
    sends = 1
    restarts = restart_after is not None

    policy = world.dispatcher.policy
    limit = LIMIT
    while world.clock.now - started < timedelta(hours=2):
        if restart_after is not None and world.clock.now - started >= restart_after:
            # The controller restarts: its flights are lost; the row left `sent` is
            # sent again at once (`recover`), as after any restart.
            restart_after = None
            world.restart_controller()
            world.dispatcher.recover()
        # The gateway still carries the frame (queued at its radio) and says so.
        report = GatewayReport(
            label_id=label_id,
            sequence=sequence,
            at=world.clock.now,
            detail="waiting for the radio",
            flags=ReportFlag.WAITING,
        )
        world.dispatcher.handle_event(
            Uplink("S01", "gw1", encode_gateway_report(report), world.clock.now)
        )
        world.dispatcher.work()
        world.clock.advance(timedelta(seconds=30))
        world.controller.plan_due_work()
        await world.send_due()
        sends += len([d for d in world.gateway.take() if d.label_id == label_id])
        if any(status == "parked" for _, status in world.rows(label_id)):
            break
    held = world.clock.now - started
    # A retry's backoffs (5, 10, 20, 40 s, jittered) and a health poll may come on top.
    backoffs = sum(
        (min(policy.base_delay * 2**i, policy.max_delay) for i in range(policy.max_attempts)),
        timedelta(0),
    )
    allowed = limit + backoffs * (1 + policy.jitter) + timedelta(minutes=1)
    assert held <= allowed, (
        f"the update stayed unparked for {held} ({sends} sends) on WAITING reports; "
        f"the documented limit is {limit} (ESL_RETRY_WAITING_LIMIT_S) from its first send "
        f"(allowed {allowed}); rows {world.rows(label_id)}"
    )
    assert policy.waiting_limit == timedelta(seconds=SETTINGS.retry_waiting_limit_s) == LIMIT
    # Waited for as long as the limit allows, not cut short at the answer timeouts of
    # its attempts (10 minutes): a tag queued behind others is served in that time.
    assert held >= limit - policy.ack_timeout, (held, sends)
    with world.sessions() as session:
        row = session.execute(
            select(OutboxRow.status, OutboxRow.parked_reason, OutboxRow.parked_detail).where(
                OutboxRow.label_id == label_id, OutboxRow.sequence == sequence
            )
        ).one()
    # Shown by `esl health` as an unanswered update is, with why.
    assert tuple(row) == ("parked", "offline", "still queued at its gateway after 1800 s")
    # No resend while the gateway said it was queued (no attempt spent on waiting); a
    # restart sends it once more, as after any restart.
    with world.sessions() as session:
        attempts = session.scalar(select(OutboxRow.attempts).where(OutboxRow.label_id == label_id))
    assert attempts == 1 + restarts, attempts
