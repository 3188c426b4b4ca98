"""The PostgreSQL server stopped under a running controller and started again a while
later: the controller waits, reports the outage, and then every label gets its price.

The test starts its own throwaway cluster (tests/fixtures/postgres.py) so it can take the
whole server away; SQLite's lock is tested in test_database_outage.py.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError, ProgrammingError

from esl.db.models import PlannedPublicationRow
from esl.pipeline.database_outage import DatabaseRetry, is_database_outage
from tests.fixtures.postgres import PostgresCluster
from tests.pipeline.paused_controller import paused_database_work
from tests.support.chain import Chain
from tests.support.clock import wall_clock
from tests.support.database import seeded_engine
from tests.support.pipeline import publish_prices
from tests.support.waiting import until

pytestmark = pytest.mark.integration

PRICES_A = {"MLK-1": "3.49", "CHS-1": "8.99", "CFE-1": "59.99"}
PRICES_B = {"MLK-1": "3.19", "CHS-1": "9.49", "CFE-1": "57.99"}
FAST_RETRY = DatabaseRetry(first=timedelta(milliseconds=100), longest=timedelta(milliseconds=500))


@pytest.fixture
def postgres() -> Iterator[PostgresCluster]:
    cluster = PostgresCluster.create()
    yield cluster
    cluster.remove()


@pytest.fixture
def engine(postgres: PostgresCluster) -> Iterator[Engine]:
    with seeded_engine(postgres.url) as engine:
        yield engine


async def test_the_controller_rides_out_a_postgresql_restart(
    chain: Chain, postgres: PostgresCluster, caplog: pytest.LogCaptureFixture
) -> None:
    publish_prices(chain.sessions, PRICES_A, now=wall_clock())
    chain.add_store("S01", labels=6)
    await chain.start_gateway("S01")
    controller = await chain.start_controller(database_retry=FAST_RETRY)
    await chain.wait_converged(wall_clock())
    assert chain.controller_task is not None

    with caplog.at_level(logging.WARNING, logger="esl.pipeline"):
        # The controller's database work waits behind a gate while B is published and
        # the server stopped: the outage starts with B not planned yet.
        with paused_database_work(controller):
            publication_b = publish_prices(chain.sessions, PRICES_B, now=wall_clock())
            with chain.sessions() as session:
                assert session.get(PlannedPublicationRow, publication_b) is None
            await asyncio.to_thread(postgres.stop)
        await until(
            lambda: controller.outage.report().failed_tries > 5,
            what="five failed tries",
            timeout_s=30,
        )
        assert not chain.controller_task.done(), "the controller gave up"
        assert controller.outage.report().unreachable_since is not None
        await asyncio.to_thread(postgres.start)
        await chain.wait_converged(wall_clock())
    assert not chain.controller_task.done()
    assert controller.outage.report().unreachable_since is None
    messages = [record.getMessage() for record in caplog.records]
    assert any("database unreachable since" in message for message in messages)
    assert any("database reachable again" in message for message in messages)


def test_a_stopped_server_is_an_outage_but_a_missing_table_is_not(
    engine: Engine, postgres: PostgresCluster
) -> None:
    with pytest.raises(ProgrammingError) as missing, engine.connect() as connection:
        connection.execute(text("SELECT * FROM no_such_table"))
    assert not is_database_outage(missing.value)
    postgres.stop()
    try:
        with pytest.raises(DBAPIError) as away, engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        assert is_database_outage(away.value)
    finally:
        postgres.start()


def test_a_deadlock_the_server_broke_is_tried_again_not_fatal(engine: Engine) -> None:
    """Two transactions locking two rows in opposite orders: PostgreSQL rolls one back
    (40P01). Two workers' planning and settlement can meet like this; the one rolled back
    must wait and try again, as in an outage, not end its worker."""
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE crossing (id int PRIMARY KEY)"))
        connection.execute(text("INSERT INTO crossing VALUES (1), (2)"))
    first, second = engine.connect(), engine.connect()
    first_locked = threading.Event()
    failures: list[BaseException] = []

    def lock_then(connection: Connection, own: int, other: int, ready: threading.Event) -> None:
        try:
            with connection.begin():
                connection.execute(text(f"SELECT * FROM crossing WHERE id = {own} FOR UPDATE"))
                ready.set()
                first_locked.wait(5)
                connection.execute(text(f"SELECT * FROM crossing WHERE id = {other} FOR UPDATE"))
        except DBAPIError as error:
            failures.append(error)

    second_locked = threading.Event()
    crossing = threading.Thread(target=lock_then, args=(second, 2, 1, second_locked))
    crossing.start()
    second_locked.wait(5)
    lock_then(first, 1, 2, first_locked)
    crossing.join(10)
    first.close()
    second.close()
    assert len(failures) == 1, failures
    [deadlock] = failures
    assert isinstance(deadlock, DBAPIError)
    assert getattr(deadlock.orig, "sqlstate", None) == "40P01"
    assert is_database_outage(deadlock)
