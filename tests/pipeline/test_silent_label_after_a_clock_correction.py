"""A label heard while the controller host's clock ran fast, then never again (review of
f9e116b, health after a host clock correction).

Its `last_seen` was stamped an hour ahead; once NTP set the clock right no later answer
came to put it right, so silence counted from a stamp still to come: the label was
neither pinged nor called offline (docs/pipeline.md, Health: `offline` after
`ESL_LABEL_OFFLINE_AFTER_S` of silence "by `last_seen`, which a host clock set back does
not hold in the future") until about an hour and a half after the correction, and its
battery history took no sample for an hour and more.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from esl.db.console_models import LabelActionRow
from esl.db.vitals_models import LabelVitalsRow
from esl.pipeline.stamps_ahead import bring_back_last_seen
from esl.services.health import label_health
from tests.pipeline.small_world import PRICES_A, World
from tests.support.database import BACKENDS, backend_engine

OFFLINE_AFTER = timedelta(minutes=30)  # ESL_LABEL_OFFLINE_AFTER_S, the default


@pytest.fixture(params=BACKENDS)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """SQLite, and PostgreSQL when set: the stamps are brought back by one UPDATE."""
    with backend_engine(request.param, tmp_path) as engine:
        yield engine


def _pings_asked(world: World, label_id: str) -> list[datetime]:
    with world.sessions() as session:
        return list(
            session.scalars(
                select(LabelActionRow.requested_at)
                .where(LabelActionRow.label_id == label_id, LabelActionRow.action == "ping")
                .order_by(LabelActionRow.id)
            )
        )


async def test_a_label_silent_since_the_fast_hour_is_pinged_and_offline_after_the_correction(
    engine: Engine,
) -> None:
    """The host clock runs an hour fast, the label checks in, NTP sets the clock right,
    and the label never answers again (its battery died): the running controller pings
    it before it would be offline, and 35 minutes after the correction it is offline."""
    world = await World.showing(engine, PRICES_A, count=1)
    (label_id,) = sorted(world.labels)
    start = world.clock.now
    world.clock.now = start + timedelta(hours=1)  # the host clock jumps ahead
    world.controller.plan_due_work()  # the controller runs on the fast clock
    world.dispatcher.settle([world.check_in(label_id)])  # last heard: stamped +1 h
    corrected = start + timedelta(minutes=1)
    world.clock.now = corrected  # NTP sets it right
    # The controller runs on; the label never answers again.
    await world.run_until(start + timedelta(minutes=36), out_of_reach={label_id})
    state = world.state(label_id)
    with world.sessions() as session:
        (health,) = label_health(session, now=world.clock.now)
    problems = []
    if health.offline != 1:
        problems.append(
            f"silent for 35 min after the correction, still not offline: {health}; "
            f"last_seen {state.last_seen}, now {world.clock.now}"
        )
    pings = [at for at in _pings_asked(world, label_id) if at >= corrected]
    if not any(at < corrected + OFFLINE_AFTER for at in pings):
        problems.append(f"not pinged before it was offline: pings asked at {pings}")
    assert not problems, "\n".join(problems)


async def test_battery_history_goes_on_after_the_correction(engine: Engine) -> None:
    """A sample taken while the clock ran fast lies ahead of every later report: the
    first report after the correction is sampled (the flat battery shows in the
    history at once), the next one within the interval is not."""
    world = await World.showing(engine, PRICES_A, count=1)
    (label_id,) = sorted(world.labels)
    label = world.labels[label_id]
    full = label.battery_mv
    start = world.clock.now
    world.clock.now = start + timedelta(hours=1)  # an interval (1 h) after the first
    world.dispatcher.settle([world.check_in(label_id)])
    world.clock.now = start + timedelta(minutes=1)  # NTP sets it right
    label.set_battery_mv(2_300)
    world.dispatcher.settle([world.check_in(label_id)])
    world.clock.advance(timedelta(minutes=1))
    label.set_battery_mv(2_250)
    world.dispatcher.settle([world.check_in(label_id)])
    with world.sessions() as session:
        samples = list(
            session.execute(
                select(LabelVitalsRow.at, LabelVitalsRow.battery_mv)
                .where(LabelVitalsRow.label_id == label_id)
                .order_by(LabelVitalsRow.id)
            )
        )
    batteries = [battery for _, battery in samples]
    assert batteries == [full, full, 2_300], samples


def test_a_worker_brings_back_only_the_labels_of_its_stores(engine: Engine) -> None:
    """Workers share the label states: one brings back the stamps of the stores it holds
    only, and a stamp a little ahead (another host's clock) stays."""
    world = World(engine, count=2)
    ahead, near = sorted(world.labels)
    now = world.clock.now
    world.dispatcher.settle([world.check_in(ahead, at=now + timedelta(hours=1))])
    world.dispatcher.settle([world.check_in(near, at=now + timedelta(minutes=1))])
    with world.sessions.begin() as session:
        assert bring_back_last_seen(session, now=now, stores=frozenset({"S02"})) == 0
    assert world.state(ahead).last_seen == now + timedelta(hours=1)
    with world.sessions.begin() as session:
        assert bring_back_last_seen(session, now=now, stores=frozenset({"S01"})) == 1
    assert world.state(ahead).last_seen == now
    assert world.state(near).last_seen == now + timedelta(minutes=1)
