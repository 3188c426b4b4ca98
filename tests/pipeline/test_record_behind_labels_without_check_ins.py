"""A store whose labels never check in (BLE: kept in sync by the controller's keep-alive
pings only), and a database restored from a backup older than the day's price changes,
which had reached the shelf (docs/pipeline.md "Labels that count further than the
record", the cases with check-ins: `test_record_behind_the_label.py`).

The labels show the lost price and count the lost sequence numbers. A keep-alive ping
signed with one of them was refused `STALE_SEQUENCE` and closed as answered ("the label
refused: STALE_SEQUENCE"); a refusal is no contact, so the label left sync after an hour
and forgot its key after two, showing the lost 2.99 for good, while the audit said
`match` whenever the refusal had just counted it as heard.

SQLite, the controller and dispatcher, firmware_sim labels on one test clock; the labels
hear only what the controller sends.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from esl.db.console_models import LabelActionRow
from esl.db.models import SecurityEventRow
from gateways.protocol import LabelState
from tests.pipeline.in_memory_gateway import radio
from tests.pipeline.small_world import World
from tests.pipeline.test_record_behind_the_label import _back_up, _restore
from tests.support.audit import audit_by_label
from tests.support.pipeline import publish_prices

LOOKS = 4 * 12  # the audit every five minutes for four hours


@pytest.mark.parametrize(
    ("lost", "apart"),
    [(3, timedelta(minutes=10)), (40, timedelta(minutes=1))],
    ids=["three-changes-lost", "forty-changes-lost"],
)
async def test_a_label_ahead_of_a_restored_record_is_put_right_by_its_keep_alive_ping(
    engine: Engine, tmp_path: Path, lost: int, apart: timedelta
) -> None:
    """Until the label is first heard, nothing tells the controller what the restore lost:
    a backup older than the audit's offline bound (30 minutes) has the label `offline`
    until its first ping, 45 minutes after it was last heard in the backup."""
    world = World.priced(engine, count=1)
    await world.converge()
    label_id = sorted(world.labels)[0]
    label = world.labels[label_id]
    _back_up(engine, tmp_path)  # last night's backup

    # The day's price changes reach the shelf, the last one 2.99.
    for change in range(lost):
        world.clock.advance(apart)
        price = "2.99" if change == lost - 1 else ("3.19", "2.79")[change % 2]
        publish_prices(world.sessions, {"MLK-1": price}, now=world.clock.now)
        await world.converge()
    _restore(engine, world, tmp_path)  # the day's commits lost
    due = world.hash_of(label_id)
    assert world.panel_hash(label_id) != due

    # Four hours of the controller's rounds, the audit every five minutes.
    called_match_while_wrong = []
    put_right_at = None
    started = world.clock.now
    for _ in range(LOOKS):
        await world.run_until(world.clock.now + timedelta(minutes=5), step=timedelta(minutes=1))
        verdict = audit_by_label(world.sessions, world.clock.now)[label_id]
        right = world.panel_hash(label_id) == due
        if verdict.audit_class.value == "match" and not right:
            called_match_while_wrong.append(world.clock.now)
        if right and put_right_at is None:
            put_right_at = world.clock.now
    assert not called_match_while_wrong, "the audit said match on the lost price"
    assert put_right_at is not None, "the panel kept the lost price"
    # At the first keep-alive ping, 45 minutes after the label was last heard, not never.
    assert put_right_at - started <= timedelta(minutes=50)
    assert label.associated
    assert label.state(now=world.clock.now) is LabelState.SYNCHRONIZED
    # The record knows the panel again (between pings it may be `offline`: 30 minutes
    # silent, and pings come every 45).
    assert audit_by_label(world.sessions, world.clock.now)[label_id].shows_due
    with world.sessions() as session:
        pings = session.execute(
            select(LabelActionRow.status, LabelActionRow.detail).order_by(LabelActionRow.id)
        ).all()
        events = session.scalars(select(SecurityEventRow.kind)).all()
    # None closed as refused (a ping waiting for the image to be taken may give up busy).
    assert not [detail for _, detail in pings if "STALE_SEQUENCE" in (detail or "")], pings
    status, detail = pings[-1]
    assert status == "answered"
    assert (detail or "").startswith("alive")
    assert "sequence ahead of record" in events


async def test_the_audit_says_unconfirmed_once_a_ping_is_refused_as_stale(
    engine: Engine, tmp_path: Path
) -> None:
    """Between the refusal and the label's next answer the controller does not know what
    the panel shows: never `match`, whatever the record said before."""
    world = World.priced(engine, count=1)
    await world.converge()
    label_id = sorted(world.labels)[0]
    _back_up(engine, tmp_path)
    world.clock.advance(timedelta(minutes=1))
    publish_prices(world.sessions, {"MLK-1": "2.99"}, now=world.clock.now)
    await world.converge()
    _restore(engine, world, tmp_path)

    # To the first ping, taken up and refused; its frame signed again waits for the round.
    world.clock.advance(timedelta(minutes=50))
    world.controller.plan_due_work()
    await world.send_due()
    world.dispatcher.settle(radio(world.gateway.take(), world.labels, now=world.clock.now))
    verdict = audit_by_label(world.sessions, world.clock.now)[label_id]
    assert verdict.audit_class.value == "unconfirmed", verdict.reason
    with world.sessions() as session:
        status, detail = session.execute(select(LabelActionRow.status, LabelActionRow.detail)).one()
    assert status == "requested"
    assert detail is not None
    assert "signing it again above" in detail
