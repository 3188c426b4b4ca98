"""A database outage longer than any retry budget: the controller waits it out, says so in
its health and logs, and then brings every label to its price without losing anything.

SQLite: another connection holds the write lock far longer than the controller's busy
timeout and its first retries. (PostgreSQL: test_database_outage_postgres.py.)
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import IntegrityError, OperationalError
from typer.testing import CliRunner

from esl.api.app import create_app
from esl.cli import app
from esl.db.models import SecurityEventRow
from esl.pipeline.controller_status import controller_status_path, read_controller_status
from esl.pipeline.database_outage import DatabaseOutage, DatabaseRetry, is_database_outage
from esl.pipeline.waiting_uplinks import waiting_uplinks
from esl.services.keys import Role, create_key
from esl.settings import Settings
from firmware_sim.fleet import build_labels, make_fleet
from firmware_sim.images import ImageStore
from gateways.base import Uplink
from gateways.protocol import decode_response, encode_response
from tests.pipeline.paused_controller import paused_database_work
from tests.pipeline.small_world import World
from tests.support.chain import Chain
from tests.support.clock import Clock, wall_clock
from tests.support.database import seeded_sqlite_engine
from tests.support.pipeline import publish_prices
from tests.support.waiting import until

pytestmark = pytest.mark.integration

PRICES_A = {"MLK-1": "3.49", "CHS-1": "8.99", "CFE-1": "59.99"}
PRICES_B = {"MLK-1": "3.19", "CHS-1": "9.49", "CFE-1": "57.99"}
# Waits between tries while the database is away; the outage below outlasts many of them.
FAST_RETRY = DatabaseRetry(first=timedelta(milliseconds=100), longest=timedelta(milliseconds=400))


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    # A statement gives up on a lock after 100 ms (instead of 10 s), so that the outage
    # below is many times longer than everything the controller tries before waiting.
    with seeded_sqlite_engine(tmp_path, busy_timeout_ms=100) as engine:
        yield engine


async def test_the_controller_rides_out_a_long_sqlite_lock_and_loses_nothing(
    chain: Chain, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    publish_prices(chain.sessions, PRICES_A, now=wall_clock())
    chain.add_store("S01", labels=6)
    await chain.start_gateway("S01")
    controller = await chain.start_controller(database_retry=FAST_RETRY)
    controller.status_path = controller_status_path(tmp_path)
    await chain.wait_converged(wall_clock())
    assert chain.controller_task is not None

    with chain.sessions.begin() as session:
        _, token = create_key(session, name="ops", role=Role.AUDITOR, store=None, now=wall_clock())
    api = create_app(Settings(data_dir=tmp_path), engine=chain.engine, clock=wall_clock)
    assert chain.engine.url.database is not None
    blocker = sqlite3.connect(chain.engine.url.database, isolation_level=None)
    try:
        with caplog.at_level(logging.WARNING, logger="esl.pipeline"):
            # The controller's database work waits behind a gate while B is published
            # and the lock taken: the outage starts with B not planned yet.
            with paused_database_work(controller):
                publication_b = publish_prices(chain.sessions, PRICES_B, now=wall_clock())
                blocker.execute("BEGIN EXCLUSIVE")  # another writer holds the database
                (planned_b,) = blocker.execute(
                    "SELECT count(*) FROM planned_publications WHERE publication_id = ?",
                    (publication_b,),
                ).fetchone()
                assert planned_b == 0
            await until(
                lambda: controller.outage.report().failed_tries > 10,
                what="ten failed tries",  # 10 busy timeouts, then the doubling waits
                timeout_s=30,
            )
            assert not chain.controller_task.done(), "the controller gave up"
            report = controller.outage.report()
            assert report.unreachable_since is not None
            assert report.last_error is not None
            assert "database is locked" in report.last_error
            # The health report says so, from the controller's status file.
            await until(
                lambda: _status_says_unreachable_since(tmp_path, report.unreachable_since),
                what="the status file reporting the outage",
                timeout_s=30,
            )
            health = CliRunner().invoke(
                app,
                ["health"],
                env={"ESL_DATA_DIR": str(tmp_path), "ESL_DATABASE_URL": str(chain.engine.url)},
            )
            assert health.exit_code == 0, health.output
            assert "database unreachable since" in health.output.splitlines()[-1]
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=api), base_url="http://esl"
            ) as client:
                answer = await client.get("/api/v1/health/controller", headers={"X-API-Key": token})
            assert answer.status_code == 200, answer.text
            assert answer.json()["running"] is True
            assert answer.json()["database_unreachable_since"] is not None
            blocker.execute("COMMIT")
            await chain.wait_converged(wall_clock())
        assert not chain.controller_task.done()
        assert controller.outage.report().unreachable_since is None
        status = read_controller_status(controller_status_path(tmp_path))
        assert status is not None
        assert status.database_unreachable_since is None
        assert status.database_outages == 1
        messages = [record.getMessage() for record in caplog.records]
        assert any("database unreachable since" in message for message in messages)
        assert any("database reachable again" in message for message in messages)
    finally:
        blocker.close()


def _status_says_unreachable_since(data_dir: Path, since: datetime | None) -> bool:
    status = read_controller_status(controller_status_path(data_dir))
    return status is not None and status.database_unreachable_since == since


def test_the_wait_doubles_up_to_the_longest_and_never_ends() -> None:
    retry = DatabaseRetry(first=timedelta(seconds=1), longest=timedelta(seconds=30))
    waits = [retry.delay_after(n).total_seconds() for n in (1, 2, 3, 5, 6, 1_000, 10**9)]
    assert waits == [1, 2, 4, 16, 30, 30, 30]


def test_the_outage_lasts_until_every_kind_of_work_succeeds_again() -> None:
    clock = Clock(now=datetime(2026, 12, 3, 9, 0, tzinfo=UTC))
    outage = DatabaseOutage(clock=clock, retry=FAST_RETRY)
    locked = OperationalError("UPDATE outbox", {}, sqlite3.OperationalError("database is locked"))
    outage.failed(locked, doing="planning")
    started = clock.now
    clock.advance(timedelta(seconds=5))
    outage.answered(doing="dispatching")  # a read-only round: the writer still waits
    outage.failed(locked, doing="dispatching")
    outage.answered(doing="dispatching")
    report = outage.report()
    assert report.unreachable_since == started
    assert report.failed_tries == 2
    assert report.last_error == "database is locked"
    outage.answered(doing="planning")
    assert outage.report().unreachable_since is None
    assert outage.outages == 1
    assert not is_database_outage(IntegrityError("INSERT", {}, sqlite3.IntegrityError("unique")))


def test_answers_kept_during_an_outage_stay_bounded() -> None:
    at = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
    provisions = make_fleet(store="S01", gateway="gw1", count=3)
    labels = build_labels(provisions, now=at, images=ImageStore())

    def check_in(index: int, seconds: int) -> Uplink:
        report = labels[index].status_report(now=at + timedelta(seconds=seconds))
        assert report is not None
        return Uplink("S01", "gw1", report, at + timedelta(seconds=seconds))

    piled = [check_in(index, n) for n in range(50) for index in range(3)]
    kept = waiting_uplinks(piled, limit=1_000)
    # Each label's newest check-in, in arrival order.
    assert kept == piled[-3:]
    assert waiting_uplinks(piled, limit=2) == piled[-2:]


def test_a_check_in_on_another_stores_topic_or_junk_pushes_out_no_genuine_answer() -> None:
    # Kept unverified (the keys are in the database that is away): before, the newest
    # check-in per label id in the header was kept, whichever topic it came on, and junk
    # counted against the cap, so another store's login or a flood of garbage could push
    # out a label's genuine check-in.
    at = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
    (label,) = build_labels(
        make_fleet(store="S01", gateway="gw1", count=1), now=at, images=ImageStore()
    )
    report = label.status_report(now=at)
    assert report is not None
    genuine = Uplink("S01", "gw1", report, at)
    relayed = Uplink("S02", "gw1", report, at + timedelta(seconds=1))  # captured, replayed
    junk = [Uplink("S01", "gw1", b"junk %d" % n, at + timedelta(seconds=2)) for n in range(50)]

    kept = waiting_uplinks([genuine, relayed, *junk], limit=2)

    assert kept == [genuine, relayed]  # the verifier refuses the relayed one later


def test_a_locked_database_is_an_outage_but_a_missing_table_is_not(engine: Engine) -> None:
    assert engine.url.database is not None
    blocker = sqlite3.connect(engine.url.database, isolation_level=None)
    try:
        blocker.execute("BEGIN EXCLUSIVE")
        with pytest.raises(OperationalError) as locked, engine.begin() as connection:
            connection.execute(text("UPDATE label_states SET battery_mv = 1"))
    finally:
        blocker.close()
    assert is_database_outage(locked.value)
    with pytest.raises(OperationalError) as missing, engine.connect() as connection:
        connection.execute(text("SELECT * FROM no_such_table"))
    assert not is_database_outage(missing.value)


async def test_a_database_that_lost_a_table_stops_the_controller_instead_of_waiting(
    engine: Engine,
) -> None:
    world = World.priced(engine)
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE planned_publications"))
    stop = asyncio.Event()
    # The error, at once: not an outage to wait out (before: retried forever).
    with pytest.raises(OperationalError, match="no such table: planned_publications"):
        await asyncio.wait_for(world.controller.run(stop), timeout=60)
    assert world.controller.outage.report().failed_tries == 0


def _with_sequence(payload: bytes, sequence: int) -> bytes:
    """`payload` with the sequence in its cleartext header replaced, nothing re-signed:
    magic, version, kind and the label id's length (5 bytes), the label id, then the
    sequence, uint32 little-endian (docs/protocol.md)."""
    at = 5 + payload[4]
    return payload[:at] + sequence.to_bytes(4, "little") + payload[at + 4 :]


async def test_a_check_in_forged_on_the_stores_own_topic_during_an_outage_is_not_believed(
    engine: Engine,
) -> None:
    """Kept in memory while the database is away, uplinks are verified only once it is
    back (the keys are in it). The store's own login publishes, after each label's genuine
    check-in, a newer one: forged without the key (another panel, a flat battery, a
    sequence far ahead), or a check-in it captured before with its sequence bumped.
    Kept as each label's newest check-in on that topic, each is verified with the same
    checks as a live one when the database answers again: a security event, and nothing
    it says believed (the panel, the battery, the sequence, a re-plan)."""
    settings = Settings.defaults().model_copy(
        update={"database_retry_first_s": 0.05, "database_retry_longest_s": 0.2}
    )
    world = World.priced(engine, count=2, settings=settings)
    await world.converge()
    forged_id, replayed_id = sorted(world.labels)
    captured = world.check_in(replayed_id)  # heard and settled before the outage
    world.dispatcher.settle([captured])
    before = {label_id: world.state(label_id) for label_id in world.labels}
    outbox = {label_id: world.rows(label_id) for label_id in world.labels}

    genuine = world.check_in(forged_id)
    claimed = decode_response(genuine.payload, key=world.keys[forged_id])
    forgery = encode_response(
        replace(
            claimed,
            sequence=claimed.sequence + 1_000,
            displayed_hash=bytes(range(1, 17)),
            battery_mv=2_100,
            label_time=claimed.label_time + timedelta(seconds=1),
        ),
        key=bytes(32),  # not the label's: whoever forges it has no key
    )
    bumped = _with_sequence(captured.payload, before[replayed_id].last_sequence + 1)

    stop = asyncio.Event()
    running = asyncio.create_task(world.controller.run(stop))
    assert engine.url.database is not None
    blocker = sqlite3.connect(engine.url.database, isolation_level=None)
    try:
        blocker.execute("BEGIN EXCLUSIVE")  # the database is away
        world.clock.advance(timedelta(minutes=1))
        world.gateway.deliver(
            [
                world.check_in(forged_id),
                world.check_in(replayed_id),
                Uplink("S01", "gw1", forgery, world.clock.now),
                Uplink("S01", "gw1", bumped, world.clock.now),
            ]
        )
        await until(
            lambda: world.controller.outage.report().failed_tries >= 3,
            what="the check-ins kept through failed rounds",
            timeout_s=30,
        )
        blocker.execute("COMMIT")
        await until(
            lambda: len(_security_events(world)) == 2 and not world.controller.outage.ongoing,
            what="the kept check-ins settled once the database answers",
            timeout_s=30,
        )
    finally:
        blocker.close()
        stop.set()
        await asyncio.wait_for(running, timeout=60)

    assert sorted(_security_events(world)) == [
        ("forged answer", "S01", forged_id),
        ("forged answer", "S01", replayed_id),
    ]
    for label_id, was in before.items():
        state = world.state(label_id)
        assert (state.displayed_hash, state.confirmed_hash) == (
            was.displayed_hash,
            was.confirmed_hash,
        ), f"{label_id}: a forged panel believed"
        assert state.battery_mv != 2_100
        assert state.claim_sequence <= was.last_sequence, f"{label_id}: a forged sequence"
        assert state.last_sequence == was.last_sequence
        assert world.rows(label_id) == outbox[label_id], f"{label_id} planned on a forgery"


def _security_events(world: World) -> list[tuple[str, str | None, str | None]]:
    with world.sessions() as session:
        return [
            (row.kind, row.store, row.label_id) for row in session.scalars(select(SecurityEventRow))
        ]
