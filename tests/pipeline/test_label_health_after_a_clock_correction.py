"""A label's health after the controller host's clock was set back (defect hunt: alerts).

The controller stamps what it hears with its own clock. While that clock ran an hour
fast, a check-in set the label's `last_seen` an hour ahead; once NTP set the clock right,
every later answer looked older than that stamp and was dropped before its battery,
signal and arrival were taken, so a flat battery went unreported and a silent label was
not called offline (docs/pipeline.md, Health) until real time caught up with the stamp.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine

from esl.services.health import label_health
from gateways.base import Uplink
from tests.pipeline.small_world import PRICES_A, World


async def test_labels_heard_while_the_host_clock_was_fast_are_still_judged_after_it_is_set_right(
    engine: Engine,
) -> None:
    """The controller host's clock runs an hour fast for a while, then NTP sets it right.
    Labels keep checking in; one's battery goes flat, then it stops answering. Health must
    see the flat battery at its next check-in and call the label offline 30 min after it
    was last heard (docs/pipeline.md, Health), not an hour and a half later."""
    world = await World.showing(engine, PRICES_A, count=2)
    label_id = sorted(world.labels)[0]
    start = world.clock.now
    captured = world.check_in(label_id)  # a capture of its check-in before the jump
    world.clock.now = start + timedelta(hours=1)  # the host clock jumps ahead
    fast = world.check_in(label_id)
    world.dispatcher.settle([fast])
    world.clock.now = start + timedelta(minutes=1)  # NTP sets it right
    world.labels[label_id].set_battery_mv(2_300)
    world.dispatcher.settle([world.check_in(label_id)])
    state = world.state(label_id)
    problems = []
    if state.battery_mv != 2_300:
        problems.append(
            f"the check-in after the correction was ignored: battery {state.battery_mv} mV"
        )
    # Older reports (2999 mV) replayed now must not undo the newer reading.
    world.clock.now += timedelta(seconds=20)
    replayed = [Uplink("S01", "gw1", old.payload, world.clock.now) for old in (fast, captured)]
    world.dispatcher.settle(replayed)
    after_replays = world.state(label_id)
    if after_replays.battery_mv != 2_300 or after_replays.last_seen != state.last_seen:
        problems.append(
            f"a replayed older check-in was taken: battery {after_replays.battery_mv} mV, "
            f"last_seen {after_replays.last_seen} (was {state.last_seen})"
        )
    # The label falls silent; 35 min later it must be offline.
    world.clock.now = start + timedelta(minutes=36)
    with world.sessions() as session:
        (health,) = label_health(session, now=world.clock.now)
    if health.offline < 2:  # both labels silent over 30 min
        problems.append(f"silent 35 min, not offline: {health}; last_seen {state.last_seen}")
    if health.low_battery < 1:
        problems.append("flat battery reported after the correction is not counted low")
    assert not problems, "\n".join(problems)
