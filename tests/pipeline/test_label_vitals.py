"""Battery and signal over time: settlement keeps a sample of each label's reported health
in its own transaction, at most one per label per interval, and forgets old ones."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, select

from esl.db.engine import session_factory
from esl.db.vitals_models import LabelVitalsRow
from esl.pipeline.label_vitals import VitalSign, VitalsRecorder, VitalsSampling
from esl.services.keys import Principal, Role
from esl.services.label_vitals import Trend, label_vitals, summarise_vitals
from esl.settings import Settings
from gateways.base import Uplink
from tests.pipeline.small_world import T0, World
from tests.support.pipeline import ADMIN

EVERY = timedelta(minutes=10)


@pytest.fixture
def world(engine: Engine) -> World:
    settings = Settings(label_vitals_every_s=EVERY.total_seconds(), label_vitals_keep_days=1)
    return World.priced(engine, count=2, settings=settings)


def _check_in(world: World, label_id: str) -> None:
    """The label wakes and reports its health, as it does every ~40 s."""
    report = world.labels[label_id].status_report(now=world.clock.now)
    assert report is not None
    world.dispatcher.settle([Uplink("S01", "gw1", report, world.clock.now)])
    world.labels[label_id].synchronize(now=world.clock.now)  # the gateway answered it


def _batteries(world: World, label_id: str) -> list[int]:
    with world.sessions() as session:
        return list(
            session.scalars(
                select(LabelVitalsRow.battery_mv)
                .where(LabelVitalsRow.label_id == label_id)
                .order_by(LabelVitalsRow.at)
            )
        )


async def test_a_falling_battery_is_kept_once_per_interval(world: World) -> None:
    await world.converge()
    label_id = sorted(world.labels)[0]
    full = world.labels[label_id].battery_mv
    assert _batteries(world, label_id) == [full]  # its first answer
    world.labels[label_id].set_battery_mv(2_900)
    world.clock.advance(timedelta(minutes=1))
    _check_in(world, label_id)
    assert world.state(label_id).battery_mv == 2_900  # the newest reading, always
    assert _batteries(world, label_id) == [full]  # but no sample within the interval
    world.clock.advance(EVERY)
    _check_in(world, label_id)
    world.labels[label_id].set_battery_mv(2_550)
    world.clock.advance(EVERY)
    _check_in(world, label_id)
    assert _batteries(world, label_id) == [full, 2_900, 2_550]
    with world.sessions() as session:
        samples = label_vitals(session, principal=ADMIN, label_id=label_id, since=T0, limit=100)
    assert [s.battery_mv for s in samples] == [full, 2_900, 2_550]
    assert all(s.rssi_dbm == world.labels[label_id].rssi_dbm for s in samples)
    summary = summarise_vitals(samples, low_battery_mv=2_600)
    assert summary is not None
    assert (summary.trend, summary.lowest_mv, summary.low) == (Trend.FALLING, 2_550, True)
    assert summary.change_mv == 2_550 - full
    # The other label reported nothing new: its one sample is from its first answer.
    assert len(_batteries(world, sorted(world.labels)[1])) == 1


async def test_samples_older_than_the_keeping_time_go_when_a_new_one_comes(
    world: World,
) -> None:
    await world.converge()
    label_id = sorted(world.labels)[0]
    for _ in range(30):  # a day and a bit, heard every hour
        world.clock.advance(timedelta(hours=1))
        _check_in(world, label_id)
    with world.sessions() as session:
        kept = session.scalars(
            select(LabelVitalsRow.at).where(LabelVitalsRow.label_id == label_id)
        ).all()
    # keep = 1 day: the samples of the last 24 hours and the one a day ago, no older.
    assert len(kept) == 25
    assert min(kept) == world.clock.now - timedelta(days=1)


def test_a_restarted_controller_keeps_the_interval_and_a_rolled_back_batch_is_retried(
    engine: Engine,
) -> None:
    World.priced(engine, count=1)  # registers the label
    sessions = session_factory(engine)
    label_id = "S01-gw1-00001"
    sampling = VitalsSampling(every=EVERY, keep=timedelta(days=1))

    def sign(minutes: int, battery: int) -> dict[str, VitalSign]:
        at = T0 + timedelta(minutes=minutes)
        return {label_id: VitalSign(label_id, at, battery, -60, 170)}

    first = VitalsRecorder(sampling)
    with sessions.begin() as session:
        assert first.record(session, sign(0, 3_000)) == 1
    first.committed()
    # A new controller knows nothing in memory: the table says when the last one was.
    second = VitalsRecorder(sampling)
    with sessions.begin() as session:
        assert second.record(session, sign(5, 2_990)) == 0
    # A batch whose transaction rolled back did not keep its sample: the next one does.
    session = sessions()
    session.begin()
    assert second.record(session, sign(11, 2_980)) == 1
    session.rollback()  # the database went away before the commit
    session.close()
    with sessions.begin() as session:
        assert second.record(session, sign(12, 2_970)) == 1
    second.committed()
    with sessions() as session:
        stored = session.scalars(select(LabelVitalsRow.battery_mv).order_by(LabelVitalsRow.at))
        assert list(stored) == [3_000, 2_970]


def test_a_store_key_reads_only_its_own_stores_labels(engine: Engine) -> None:
    from esl.errors import AccessDeniedError

    World.priced(engine, count=1)
    other = Principal(name="s2", role=Role.STORE, store="S02")
    with session_factory(engine)() as session, pytest.raises(AccessDeniedError):
        label_vitals(session, principal=other, label_id="S01-gw1-00001", since=T0, limit=10)
