"""The controller's database loses its last commits (SQLite in WAL mode with
`synchronous=NORMAL` after a power loss, PostgreSQL failing over to a standby that had not
replayed them, a restore from a backup) after frames signed in them reached the labels.

The labels then count further than the record: they took sequence numbers the controller
no longer remembers signing, and show what those frames carried (here a price whose
publication was lost too), while the record says they show what it last remembers. Only
a label's check-in can tell, signed with its key, and the sequence it names can only have
been reached through frames signed with that key (a label takes no other). Before, such a
check-in was refused as answering "a sequence the controller never signed", so the
controller went on believing the label showed the price of the record, health counted it
up to date, and every frame it signed next was refused by the label as stale (parked as
`rejected: STALE_SEQUENCE`) until its counter caught up with the label's.

SQLite, the controller and dispatcher, firmware_sim labels on one test clock.
"""

from __future__ import annotations

import dataclasses
import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from esl.db.models import OutboxRow, SecurityEventRow
from esl.pipeline import RetryPolicy
from firmware_sim.label import SimulatedLabel
from gateways.protocol import LabelResponse
from rendering.encoding import content_hash
from tests.pipeline.in_memory_gateway import radio
from tests.pipeline.small_world import PRICES_A, World
from tests.support.pipeline import expected_planes, publish_prices

PRICES_B = {"MLK-1": "3.19"}
PRICES_C = {"MLK-1": "2.79"}


def _copy(source: Path, target: Path) -> None:
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)


async def _showing_prices_a(engine: Engine, *, labels: int) -> World:
    """A store of `labels` labels showing prices A, every frame acknowledged."""
    world = World.priced(engine, count=labels)
    await world.converge()
    return world


def _back_up(engine: Engine, tmp_path: Path) -> None:
    """The database file copied aside as it is now (the backup `_restore` goes back to)."""
    _copy(Path(str(engine.url.database)), tmp_path / "before.sqlite")


def _restore(engine: Engine, world: World, tmp_path: Path) -> None:
    """The database back to the copy `_back_up` took (its later commits lost), and a new
    controller over it."""
    engine.dispose()
    _copy(tmp_path / "before.sqlite", Path(str(engine.url.database)))
    world.restart_controller()


def _assert_truth(world: World) -> None:
    """Panel == record == due, for every label."""
    world.clock.advance(timedelta(seconds=30))  # past the panels' refresh
    for label_id, label in world.labels.items():
        label.synchronize(now=world.clock.now)
        state = world.state(label_id)
        with world.sessions() as session:
            due = expected_planes(session, label_id=label_id, sku=world.sku, at=world.clock.now)
        assert label.shown is not None
        shown = content_hash(label.shown).hex()
        assert shown == state.confirmed_hash, f"{label_id}: the record is not the panel"
        assert label.shown == due, f"{label_id} does not show its due price"


@pytest.mark.parametrize("then", [None, PRICES_C], ids=["nothing-new", "a-new-price"])
async def test_labels_that_count_further_than_a_database_that_lost_its_last_commits_are_found(
    engine: Engine, tmp_path: Path, then: dict[str, str] | None
) -> None:
    world = await _showing_prices_a(engine, labels=2)
    _back_up(engine, tmp_path)

    # A price change reaches the shelf; then the database loses it, and the frames.
    publish_prices(world.sessions, PRICES_B, now=world.clock.now)
    await world.converge()
    _restore(engine, world, tmp_path)

    world.clock.advance(timedelta(minutes=1))
    if then is not None:
        publish_prices(world.sessions, then, now=world.clock.now)
        await world.converge()
    # The labels check in: each names a sequence above the last one the record signed.
    world.clock.advance(timedelta(minutes=1))
    world.dispatcher.settle([world.check_in(label_id) for label_id in sorted(world.labels)])
    await world.converge()
    _assert_truth(world)
    with world.sessions() as session:
        parked = session.execute(
            select(OutboxRow.label_id, OutboxRow.parked_reason).where(
                OutboxRow.status.in_(("parked", "pending", "sent", "held"))
            )
        ).all()
        events = session.scalars(select(SecurityEventRow.kind)).all()
    assert parked == [], "updates left open"
    # Noticed, not only mended: a sequence ahead of the record is a security event.
    assert len(events) == len(world.labels)


async def test_a_timed_price_the_database_lost_is_not_flipped_to_at_its_instant(
    engine: Engine, tmp_path: Path
) -> None:
    """The commits lost held a price change planned ahead: the labels took its timed
    frame and hold the flip (their signed check-in says so: pending display update),
    while the record, which lost the publication, knows no flip. Believed as showing the
    price of now, with nothing on its way, a label was planned nothing and flipped at the
    instant to a price nobody published any more, until a check-in after it disagreed."""
    world = await _showing_prices_a(engine, labels=2)
    _back_up(engine, tmp_path)

    flip = (world.clock.now + timedelta(hours=1)).replace(microsecond=0)
    publish_prices(world.sessions, PRICES_B, now=world.clock.now, effective_at=flip)
    await world.converge()  # the labels hold the flip
    _restore(engine, world, tmp_path)

    world.clock.advance(timedelta(minutes=1))
    world.dispatcher.settle([world.check_in(label_id) for label_id in sorted(world.labels)])
    await world.converge()
    world.clock.now = flip + timedelta(minutes=1)
    _assert_truth(world)


async def test_a_frame_the_label_acknowledged_stays_acknowledged_when_it_is_found_ahead(
    engine: Engine, tmp_path: Path
) -> None:
    """The database kept a frame as sent; the label took it, then frames the database
    lost. Its answer to that frame (held back while the database was away) and its
    check-in, ahead of the record, are settled together: the frame was acknowledged,
    and stays so (not overwritten as superseded, which history, refreshes and time to
    shelf read as never delivered)."""
    world = await _showing_prices_a(engine, labels=1)
    label_id = sorted(world.labels)[0]
    database = Path(str(engine.url.database))

    world.clock.advance(timedelta(minutes=1))  # past the panel's refresh
    publish_prices(world.sessions, PRICES_B, now=world.clock.now)
    world.controller.plan_due_work()
    await world.send_due()
    answers = radio(world.gateway.take(), world.labels, now=world.clock.now)
    (sequence, status), *_ = world.rows(label_id)[-1:]
    assert status == "sent"
    _copy(database, tmp_path / "sent.sqlite")  # the frame sent, its answer not settled

    world.dispatcher.settle(answers)
    world.clock.advance(timedelta(minutes=1))
    publish_prices(world.sessions, PRICES_C, now=world.clock.now)
    await world.converge()  # lost with the commits after the copy
    engine.dispose()
    _copy(tmp_path / "sent.sqlite", database)
    world.restart_controller()

    world.clock.advance(timedelta(minutes=1))
    world.dispatcher.settle([*answers, world.check_in(label_id)])
    assert (sequence, "acked") in world.rows(label_id)


@pytest.mark.parametrize("timed", [False, True], ids=["at-once", "timed"])
async def test_a_late_acknowledgement_of_a_lost_frame_confirms_not_the_frame_given_its_number(
    engine: Engine, tmp_path: Path, timed: bool
) -> None:
    """The label took a frame the database then lost; its acknowledgement was held back
    (a gateway buffering while the controller was away, a QoS 1 redelivery). Restored,
    the controller signs new content with the lost frame's sequence number, and the late
    acknowledgement names that number. Matched by (label, sequence) alone it acknowledged
    the new frame: the record claimed the new price while the panel showed the lost one,
    and nothing was sent again (the label refused the new frame itself as stale, a late
    answer to a row already acknowledged)."""
    world = await _showing_prices_a(engine, labels=1)
    label_id = sorted(world.labels)[0]
    _back_up(engine, tmp_path)

    world.clock.advance(timedelta(minutes=1))  # past the panel's refresh
    publish_prices(world.sessions, PRICES_B, now=world.clock.now)
    world.controller.plan_due_work()
    await world.send_due()
    late = radio(world.gateway.take(), world.labels, now=world.clock.now)
    (lost, _), *_ = world.rows(label_id)[-1:]
    _restore(engine, world, tmp_path)  # the frame and its publication lost

    world.clock.advance(timedelta(minutes=1))
    flip = None
    if timed:
        flip = world.publish_flip_ahead(PRICES_C["MLK-1"])
    else:
        publish_prices(world.sessions, PRICES_C, now=world.clock.now)
    world.controller.plan_due_work()
    await world.send_due()
    signed_again = world.gateway.take()  # on its way while the late answer arrives
    (sequence, _), *_ = world.rows(label_id)[-1:]
    assert sequence == lost  # the number the late answer names
    world.dispatcher.settle(late)
    world.dispatcher.settle(radio(signed_again, world.labels, now=world.clock.now))
    await world.converge()
    if flip is not None:
        world.clock.now = flip + timedelta(minutes=1)
        await world.converge()
    _assert_truth(world)
    with world.sessions() as session:
        events = session.scalars(select(SecurityEventRow.kind)).all()
    assert "sequence ahead of record" in events
    assert (sequence, "acked") not in world.rows(label_id)


async def test_a_label_further_ahead_than_the_attempts_of_a_frame_still_takes_it(
    engine: Engine, tmp_path: Path
) -> None:
    """The commits lost held more frames for a label than a frame has attempts (a price
    changed back and forth, each change reaching the shelf). Restored, the controller
    signs a new price just above the record; the label refuses it as stale, and each
    refusal signed it again only one number higher: the label, eight ahead, refused
    every attempt and the price was parked `rejected: STALE_SEQUENCE`, the panel showing
    the old one until the label's next check-in."""
    world = await _showing_prices_a(engine, labels=1)
    label_id = sorted(world.labels)[0]
    _back_up(engine, tmp_path)

    for _ in range(4):  # the price changes back and forth, each change reaching the shelf
        world.clock.advance(timedelta(minutes=1))
        publish_prices(world.sessions, PRICES_B, now=world.clock.now)
        await world.converge()
        world.clock.advance(timedelta(minutes=1))
        publish_prices(world.sessions, PRICES_A, now=world.clock.now)
        await world.converge()
    _restore(engine, world, tmp_path)

    world.clock.advance(timedelta(minutes=1))
    publish_prices(world.sessions, PRICES_C, now=world.clock.now)
    await world.converge()
    _assert_truth(world)
    assert "parked" not in {status for _, status in world.rows(label_id)}


class _PanelMisreportingLabel(SimulatedLabel):
    """Firmware that takes every image yet reports the panel it showed before: no label
    of ours does. Its acknowledgements contradict every frame they answer."""

    __slots__ = ()
    reported: bytes | None = None

    def _response(self, now_ms: int, **fields: Any) -> LabelResponse:
        honest = super()._response(now_ms, **fields)
        return dataclasses.replace(honest, displayed_hash=type(self).reported)


async def test_a_label_contradicting_every_acknowledgement_is_parked_not_signed_for_ever(
    engine: Engine,
) -> None:
    """An acknowledgement showing another panel than its frame leaves is taken for the
    answer to a lost frame, and the frame is signed again above. A label doing so on
    every attempt was signed again without end (each answer a security event); it is
    parked once its attempts are spent, with a reason an operator can read."""
    world = await _showing_prices_a(engine, labels=1)
    label_id = sorted(world.labels)[0]
    honest = world.labels[label_id]
    _PanelMisreportingLabel.reported = honest.shown_hash
    snapshot, images = world.back_up(label_id)
    world.labels[label_id] = _PanelMisreportingLabel.restore(
        snapshot, hardware=honest.hardware, images=images, now=world.clock.now
    )

    world.clock.advance(timedelta(minutes=1))
    publish_prices(world.sessions, PRICES_B, now=world.clock.now)
    await world.converge()
    statuses = [status for _, status in world.rows(label_id)]
    assert statuses[-1] == "parked"
    assert statuses.count("superseded") < RetryPolicy().max_attempts
    with world.sessions() as session:
        parked = session.scalars(
            select(OutboxRow.parked_detail).where(OutboxRow.status == "parked")
        ).one()
    assert parked == "acknowledged showing another image every time"
