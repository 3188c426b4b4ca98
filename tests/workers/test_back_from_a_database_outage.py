"""A worker whose database stopped answering for longer than its leases, step by step:
its link to PostgreSQL cut (tests/support/database_link.py) while another worker takes
its store over, then restored. What the worker does first when its database answers
again must write nothing over the new holder, and say nothing it did not do.

Back, the worker's dispatcher starts over (as its run loop does after a failed round:
`Dispatcher.run`), recovering the frames left `sent` of the stores it still counts as
its own; those are the frames the new holder sent again. And its planning pass finds a
publication for its old store waiting. Both are fenced: rolled back, the store dropped.

Real parts: PostgreSQL reached through a link that is really cut, two worker
controllers, the firmware_sim labels, one test clock.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from esl.db.engine import create_engine_for, session_factory
from esl.pipeline.database_outage import is_database_outage
from tests.pipeline.small_world import World
from tests.support.database_link import DatabaseLink
from tests.support.pipeline import publish_prices
from tests.workers.world_workers import (
    assert_still_sent,
    every_label_shows,
    only_the_holders_timeout_sends_again,
    serving,
    taken_over,
    worker_with_prices,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def through_the_link(engine: Engine) -> Iterator[tuple[DatabaseLink, sessionmaker[Session]]]:
    """The worker tests' database reached through a link a test can cut."""
    link = DatabaseLink(engine.url.render_as_string(hide_password=False))
    linked = create_engine_for(link.url)
    try:
        yield link, session_factory(linked)
    finally:
        linked.dispose()
        link.close()


def _unanswered(error: pytest.ExceptionInfo[DBAPIError]) -> None:
    assert is_database_outage(error.value), error.value


async def test_back_from_an_outage_a_worker_puts_back_no_frame_the_new_holder_sent(
    engine: Engine, through_the_link: tuple[DatabaseLink, sessionmaker[Session]]
) -> None:
    link, sessions = through_the_link
    world = World(engine, count=2)
    stale = await worker_with_prices(world, sessions=sessions)
    world.clock.advance(timedelta(seconds=5))
    publish_prices(world.sessions, {"MLK-1": "3.79"}, now=world.clock.now)
    due = {label_id: world.hash_of(label_id) for label_id in world.labels}
    stale.plan_due_work()
    await world.send_due()
    assert world.gateway.take(), "the worker had nothing to send"  # lost on the way

    link.cut(refused=True)
    # Its frames unanswered past their timeout: timing them out needs the database.
    world.clock.advance(stale.dispatcher.policy.ack_timeout)
    with pytest.raises(DBAPIError) as away:
        stale.dispatcher.work()
    _unanswered(away)
    # Away past its leases: another worker takes S01 over and sends its frames again.
    holder = serving(world, taken_over(world, stale))
    holder.dispatcher.start_over()
    await world.send_due()
    sent = world.gateway.take()
    assert sorted(frame.label_id for frame in sent) == sorted(world.labels)

    link.restore()
    # The worker's dispatcher starts over from what the database says, and goes on.
    stale.dispatcher.start_over()
    assert not stale.dispatcher.work()
    assert_still_sent(world, by="the worker back from the outage")
    assert "S01" not in (stale.stores or ()), "the worker still counts S01 as its own"
    # The holder's frames are lost on the way: its own timeout sends them again.
    await only_the_holders_timeout_sends_again(
        world, sent, due, ack_timeout=holder.dispatcher.policy.ack_timeout
    )


async def test_back_from_an_outage_a_worker_plans_nothing_for_a_store_it_lost_nor_says_so(
    engine: Engine,
    through_the_link: tuple[DatabaseLink, sessionmaker[Session]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    link, sessions = through_the_link
    world = World(engine, count=2)
    stale = await worker_with_prices(world, sessions=sessions)

    link.cut(refused=True)
    with pytest.raises(DBAPIError) as away:
        stale.plan_due_work()
    _unanswered(away)
    world.clock.advance(timedelta(seconds=5))
    publish_prices(world.sessions, {"MLK-1": "3.79"}, now=world.clock.now)
    due = {label_id: world.hash_of(label_id) for label_id in world.labels}
    holder = taken_over(world, stale)

    link.restore()
    # The worker's planning pass, first back, finds the publication waiting for S01.
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="esl.pipeline.controller"):
        assert stale.plan_due_work() == 0
    assert "S01" not in (stale.stores or ()), "the worker still counts S01 as its own"
    said = [record.getMessage() for record in caplog.records]
    assert not [message for message in said if "planned" in message], said
    assert any("lost [" in message and "'S01'" in message for message in said), said
    # Its holder plans and delivers it.
    serving(world, holder)
    await world.converge()
    every_label_shows(world, due)
