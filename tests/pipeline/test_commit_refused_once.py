"""One COMMIT the server refuses (a serialization failure raised at the commit, by a
deferred constraint trigger) under a running controller: the round rolled back, so the
controller's memory of it must go with it. Every label still ends up showing its due
price, planned once and acknowledged once; the record, the audit and the controller's
counts agree with the panels.

PostgreSQL only: the trigger has to fail one commit and let the next one through, so it
counts on a sequence (`nextval` is kept when the transaction rolls back; a flag row it
cleared would come back with the rollback and fail every commit after). A SQLite trigger
has nothing outside the transaction to write to (only a function registered from Python,
the test's code rather than the database's), and the commit failure SQLite can make (a
deferred foreign key) is an integrity error, which stops the controller rather than
being tried again (docs/pipeline.md).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, text

from esl.db.models import LabelAcknowledgementRow
from esl.services.label_actions import ActionKind, request_action
from esl.settings import Settings
from gateways.protocol import peek_header
from tests.pipeline.in_memory_gateway import radio
from tests.pipeline.small_world import World
from tests.support.audit import audit_by_label
from tests.support.database import backend_engine
from tests.support.pipeline import ADMIN
from tests.support.waiting import until

pytestmark = pytest.mark.integration

# Which commit fails: the table and the row event of the trigger, and when it fires.
FAILING_COMMITS = {
    # The settling of the labels' answers (their acknowledgements written).
    "settling answers": ("label_acknowledgements", "INSERT", "true"),
    # A round's sending (its frames marked sent).
    "sending frames": ("outbox", "UPDATE", "NEW.status = 'sent' AND OLD.status <> 'sent'"),
    # The timeout of frames whose answers were lost (put back behind a backoff).
    "timing out frames": (
        "outbox",
        "UPDATE",
        "OLD.status = 'sent' AND NEW.status = 'pending' AND NEW.not_before > OLD.sent_at",
    ),
}


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    with backend_engine("postgresql", tmp_path) as engine:
        yield engine


def _fail_one_commit(engine: Engine, table: str, event: str, when: str) -> None:
    """The next commit writing `event` on `table` (its rows `when`) fails, once."""
    with engine.begin() as connection:
        connection.execute(text("CREATE SEQUENCE commit_refusals"))
        connection.execute(
            text(
                """
                CREATE FUNCTION refuse_one_commit() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF nextval('commit_refusals') = 1 THEN
                        RAISE EXCEPTION 'could not serialize access (the test refuses it)'
                            USING ERRCODE = 'serialization_failure';
                    END IF;
                    RETURN NULL;
                END $$
                """
            )
        )
        connection.execute(
            text(
                f"CREATE CONSTRAINT TRIGGER refuse_one_commit AFTER {event} ON {table} "
                "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
                f"WHEN ({when}) EXECUTE FUNCTION refuse_one_commit()"
            )
        )


def _refusals_fired(engine: Engine) -> int:
    with engine.connect() as connection:
        fired = connection.execute(
            text("SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM commit_refusals")
        ).scalar_one()
    return int(fired)


async def _relay(
    world: World, *, lose: set[str] | None = None, heard: list[list[tuple[str, int]]]
) -> None:
    """The radio: frames the controller sent reach their labels; answers come back. The
    first frame to each label of `lose` is lost on the way (taken out of `lose`). What
    each handing over carried, (label, sequence) a frame, goes into `heard`."""
    lose = set() if lose is None else lose
    while True:
        sent = world.gateway.take()
        if sent:
            heard.append([(frame.label_id, peek_header(frame.payload).sequence) for frame in sent])
            reach = [frame for frame in sent if frame.label_id not in lose]
            lose.difference_update(frame.label_id for frame in sent)
            world.gateway.deliver(list(radio(reach, world.labels, now=world.clock.now)))
        await asyncio.sleep(0.02)


def _all_confirmed(world: World) -> bool:
    return all(
        world.state(label_id).confirmed_hash == world.hash_of(label_id) for label_id in world.labels
    )


@pytest.mark.parametrize("failing", sorted(FAILING_COMMITS))
async def test_a_commit_refused_once_leaves_no_trace_in_memory(
    engine: Engine, failing: str
) -> None:
    settings = Settings.defaults().model_copy(
        update={"database_retry_first_s": 0.05, "database_retry_longest_s": 0.2}
    )
    world = World.priced(engine, count=3, settings=settings)
    _fail_one_commit(engine, *FAILING_COMMITS[failing])
    # Timing out: every label's first frame is lost, and the clock passes its timeout.
    lose = set(world.labels) if failing == "timing out frames" else set()
    stop = asyncio.Event()
    heard: list[list[tuple[str, int]]] = []
    relay = asyncio.create_task(_relay(world, lose=lose, heard=heard))
    running = asyncio.create_task(world.controller.run(stop))
    try:
        if lose:
            await until(lambda: not lose, what="the first frames lost", timeout_s=30)
            world.clock.advance(world.dispatcher.policy.ack_timeout + timedelta(seconds=1))
        await until(lambda: _refusals_fired(world.engine) >= 1, what="the refusal", timeout_s=30)
        await until(lambda: _all_confirmed(world), what="every label confirmed", timeout_s=60)
        await until(
            lambda: not world.dispatcher.in_flight, what="nothing left in flight", timeout_s=30
        )
    finally:
        stop.set()
        await running
        relay.cancel()
    # The commit was refused, and a later one of the same kind went through.
    assert _refusals_fired(engine) >= 2
    assert world.controller.outage.report().unreachable_since is None
    # No label was sent two frames at once, nor any frame but its one update's.
    for handed_over in heard:
        assert len(handed_over) == len({label for label, _ in handed_over}), handed_over
    assert {frame for handed_over in heard for frame in handed_over} == {
        (label_id, 1) for label_id in world.labels
    }
    for label_id in world.labels:
        due = world.hash_of(label_id)
        assert world.panel_hash(label_id) == due, label_id
        state = world.state(label_id)
        assert state.confirmed_hash == state.displayed_hash == due, label_id
        assert world.rows(label_id) == [(1, "acked")], label_id  # planned once, acked once
    verdicts = audit_by_label(world.sessions, world.clock.now)
    assert {label: v.audit_class.value for label, v in verdicts.items()} == dict.fromkeys(
        world.labels, "match"
    )
    # The controller's counts say what the record says: one acknowledgement per label,
    # none counted for the settling that was rolled back.
    with world.sessions() as session:
        acknowledged = session.scalar(
            select(func.count())
            .select_from(LabelAcknowledgementRow)
            .where(LabelAcknowledgementRow.acked_hash.is_not(None))
        )
    assert world.dispatcher.counts.acked == acknowledged == len(world.labels)
    # The one timeout's retries were rolled back with it: the frames went out again as
    # recovered (`start_over`), none behind a backoff.
    assert world.dispatcher.counts.retried == 0


async def test_a_ping_whose_sending_was_refused_at_commit_goes_out_at_the_next_round(
    engine: Engine,
) -> None:
    """The round that took a staff member's ping up (the action marked sent, its frame
    signed) is refused at its COMMIT: nothing went out, and the action is still requested
    in the record. The next round takes it up again, on the same clock reading: the
    controller's note that it looked at the actions went with the rollback."""
    settings = Settings.defaults().model_copy(
        update={"database_retry_first_s": 0.05, "database_retry_longest_s": 0.2}
    )
    world = World.priced(engine, count=1, settings=settings)
    [label_id] = world.labels
    await world.converge()
    world.clock.advance(timedelta(seconds=20))  # its panel refresh is over
    _fail_one_commit(engine, "label_actions", "UPDATE", "NEW.status = 'sent'")
    with world.sessions.begin() as session:
        action = request_action(
            session, principal=ADMIN, label_id=label_id, kind=ActionKind.PING, now=world.clock.now
        ).id
    stop = asyncio.Event()
    relay = asyncio.create_task(_relay(world, heard=[]))
    running = asyncio.create_task(world.controller.run(stop))
    try:
        await until(lambda: _refusals_fired(world.engine) >= 1, what="the refusal", timeout_s=30)
        await until(
            lambda: world.action_outcome(action)[0] == "answered",
            what="the ping answered",
            timeout_s=30,
        )
    finally:
        stop.set()
        await running
        relay.cancel()
    assert _refusals_fired(engine) >= 2
    assert world.panel_hash(label_id) == world.state(label_id).confirmed_hash
    assert world.panel_hash(label_id) == world.hash_of(label_id)
