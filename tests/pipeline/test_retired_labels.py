"""Retiring a label that is broken or thrown away.

Found by review: a label unbound while out of reach never answers its identification
screen, so the audit lists it as still showing its last price (`unbound_showing_price`)
for ever and `esl audit --fail-after` exits 1 for ever; nothing said "this label is
gone". Retired (`esl label retire`), it leaves the audit, health and keep-alive pings,
its open frames are superseded and nothing is planned for it again; it is bound to
nothing again; its history stays.
Simulated labels, the real controller and dispatcher, one test clock.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from esl.audit.classify import AuditClass, LabelVerdict
from esl.cli import app, audit_cmd
from esl.db.console_models import LabelActionRow
from esl.db.models import LabelBindingRow, LabelRow, OutboxRow
from esl.delivery_states import OPEN_STATUSES, OutboxStatus
from esl.errors import ConflictError, NotFoundError
from esl.pipeline.action_kinds import RETIRED_NOT_SENT, ActionStatus
from esl.pipeline.label_keepalive import KEEP_IN_SYNC, request_keepalive_pings
from esl.services.health import label_health
from esl.services.label_actions import ActionKind, request_action
from esl.services.label_retirement import retire_label
from esl.services.label_status import StatusThresholds
from esl.services.labels import bind_label, unbind_label
from esl.ui.shelf_views import store_labels
from tests.pipeline.small_world import World
from tests.support.audit import audit_by_label
from tests.support.database import database_url
from tests.support.pipeline import ADMIN


@pytest.fixture
def world(engine: Engine) -> World:
    return World.priced(engine, count=2)


def _audit(world: World) -> dict[str, LabelVerdict]:
    return audit_by_label(world.sessions, world.clock.now)


async def _unbound_unanswered(world: World) -> tuple[str, str]:
    """Both labels show 3.49; the first is unbound and its identification screen lost:
    it is out of reach for good. (gone, kept)"""
    gone, kept = sorted(world.labels)
    await world.converge()
    world.clock.advance(timedelta(minutes=1))
    with world.sessions.begin() as session:
        unbind_label(session, principal=ADMIN, label_id=gone, now=world.clock.now)
    world.controller.plan_due_work()
    await world.send_due()
    assert len(world.gateway.take()) == 1  # the identification screen, lost
    return gone, kept


async def test_a_retired_label_leaves_the_audit_and_fail_after_passes(
    world: World, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    gone, kept = await _unbound_unanswered(world)
    assert _audit(world)[gone].audit_class is AuditClass.UNBOUND_SHOWING_PRICE
    world.clock.advance(timedelta(hours=2))
    monkeypatch.setenv("ESL_DATABASE_URL", database_url(engine))
    # The world is dated ahead of the wall clock, and an audit of an instant later than
    # now is refused: the command's now is the world's.
    monkeypatch.setattr(audit_cmd, "_now", world.clock)
    cli = CliRunner()
    audit = ["audit", "--at", world.clock.now.isoformat(), "--fail-after", "30m"]

    failed = cli.invoke(app, audit)
    assert failed.exit_code == 1, failed.output
    assert gone in failed.stderr

    retired = cli.invoke(app, ["label", "retire", gone])
    assert retired.exit_code == 0, retired.output
    assert f"{gone} retired at" in retired.stdout
    passed = cli.invoke(app, audit)
    assert passed.exit_code == 0, passed.output
    assert set(_audit(world)) == {kept}

    # Retired again: the same retirement.
    with world.sessions() as session:
        first = session.get(LabelRow, gone)
        assert first is not None
        when = first.retired_at
    again = cli.invoke(app, ["label", "retire", gone])
    assert again.exit_code == 0, again.output
    with world.sessions() as session:
        label = session.get(LabelRow, gone)
        assert label is not None
        assert (label.retired_at, label.retired_by) == (when, "cli")


async def test_a_retired_label_is_not_counted_pinged_nor_sent_anything(world: World) -> None:
    gone, kept = await _unbound_unanswered(world)
    world.clock.advance(timedelta(seconds=1))
    with world.sessions.begin() as session:
        request_action(
            session, principal=ADMIN, label_id=gone, kind=ActionKind.FLASH, now=world.clock.now
        )
    with world.sessions() as session:
        (before,) = label_health(session, now=world.clock.now, stores=["S01"])
        frames_before = session.scalar(
            select(func.count()).select_from(OutboxRow).where(OutboxRow.label_id == gone)
        )
    assert before.labels == 2
    assert frames_before

    with world.sessions.begin() as session:
        retire_label(session, principal=ADMIN, label_id=gone, now=world.clock.now)
    with world.sessions() as session:
        (after,) = label_health(session, now=world.clock.now, stores=["S01"])
        statuses = set(session.scalars(select(OutboxRow.status).where(OutboxRow.label_id == gone)))
        bindings = session.scalar(
            select(func.count())
            .select_from(LabelBindingRow)
            .where(LabelBindingRow.label_id == gone)
        )
        frames_after = session.scalar(
            select(func.count()).select_from(OutboxRow).where(OutboxRow.label_id == gone)
        )
    assert after.labels == 1
    with world.sessions() as session:
        listed = store_labels(
            session, store="S01", now=world.clock.now, thresholds=StatusThresholds()
        )
    assert [line.label_id for line in listed] == [kept], "the console's store view"
    assert not statuses & {status.value for status in OPEN_STATUSES}
    assert OutboxStatus.SUPERSEDED.value in statuses
    assert (bindings, frames_after) == (1, frames_before), "its history stays"

    world.controller.plan_due_work()
    await world.send_due()
    assert [frame for frame in world.gateway.take() if frame.label_id == gone] == []
    world.clock.advance(KEEP_IN_SYNC + timedelta(minutes=1))
    with world.sessions.begin() as session:
        pinged = request_keepalive_pings(session, now=world.clock.now, silence=KEEP_IN_SYNC)
    assert pinged == [kept]


async def test_a_retired_label_is_planned_bound_and_asked_nothing(
    world: World,
) -> None:
    gone, kept = sorted(world.labels)
    with world.sessions.begin() as session:
        retired = retire_label(session, principal=ADMIN, label_id=gone, now=world.clock.now)
        assert retired.retired_by == ADMIN.name
    with world.sessions() as session:
        ended = session.scalar(
            select(LabelBindingRow.unbound_at).where(LabelBindingRow.label_id == gone)
        )
    assert ended == world.clock.now, "its binding ended"
    world.controller.plan_due_work()
    await world.send_due()
    sent = {frame.label_id for frame in world.gateway.take()}
    assert sent == {kept}, "no identification screen for a retired label"
    with world.sessions() as session, pytest.raises(ConflictError, match="retired"):
        bind_label(
            session,
            principal=ADMIN,
            label_id=gone,
            sku="MLK-1",
            template="standard",
            now=world.clock.now,
        )
    with world.sessions() as session, pytest.raises(ConflictError, match="retired"):
        request_action(
            session, principal=ADMIN, label_id=gone, kind=ActionKind.PING, now=world.clock.now
        )
    with world.sessions() as session, pytest.raises(NotFoundError):
        retire_label(session, principal=ADMIN, label_id="L-nowhere", now=world.clock.now)
    with world.sessions() as session:
        label = session.get(LabelRow, kept)
        assert label is not None
        assert label.retired_at is None


async def test_a_retired_label_checking_in_with_its_clock_off_is_sent_nothing(
    world: World,
) -> None:
    """Found by a hunter: a thrown-away label still on a shelf somewhere, its clock off,
    checked in and the controller asked it a SetClock of its own, signed with its key and
    sent it (the action showed `sent` in its history)."""
    await world.converge()
    gone, kept = sorted(world.labels)
    world.clock.advance(timedelta(minutes=1))
    with world.sessions.begin() as session:
        retire_label(session, principal=ADMIN, label_id=gone, now=world.clock.now)
    world.controller.plan_due_work()
    await world.send_due()
    world.gateway.take()

    world.labels[gone].clock_offset_ms += 30 * 60 * 1000
    world.labels[kept].clock_offset_ms += 30 * 60 * 1000
    world.clock.advance(timedelta(minutes=1))
    world.dispatcher.settle([world.check_in(gone), world.check_in(kept)])
    world.controller.plan_due_work()
    await world.send_due()

    sent = {frame.label_id for frame in world.gateway.take()}
    with world.sessions() as session:
        asked = {(a.label_id, a.action) for a in session.scalars(select(LabelActionRow))}
    assert sent == {kept}, "the label still in use has its clock set; the retired one nothing"
    assert asked == {(kept, ActionKind.SET_CLOCK.value)}


async def test_an_action_queued_for_a_label_as_it_is_retired_fails_unsent(world: World) -> None:
    """The backstop: a request written beside the retirement (another worker, another
    request in flight) is failed when the controller takes it up, never signed."""
    gone, _kept = sorted(world.labels)
    await world.converge()
    with world.sessions.begin() as session:
        retire_label(session, principal=ADMIN, label_id=gone, now=world.clock.now)
        session.add(
            LabelActionRow(
                label_id=gone,
                action=ActionKind.FLASH.value,
                status=ActionStatus.REQUESTED.value,
                requested_by=ADMIN.name,
                requested_at=world.clock.now,
            )
        )
    world.clock.advance(timedelta(minutes=1))
    world.controller.plan_due_work()
    await world.send_due()

    assert [frame for frame in world.gateway.take() if frame.label_id == gone] == []
    with world.sessions() as session:
        (action,) = session.scalars(select(LabelActionRow).where(LabelActionRow.label_id == gone))
    assert (action.status, action.detail) == (ActionStatus.FAILED.value, RETIRED_NOT_SENT)
