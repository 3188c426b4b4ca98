"""A label heard showing another image than the record confirms, with no frame open for
it, is not counted "up to date", and its correcting frame is planned at the next poll.

Found by red-team review: a label restored from a backup (its panel an older price) and
silent since answered the controller's keep-alive ping 45 minutes later. The answer was
believed (the label's newest word), so the record took what it shows as `displayed_hash`,
but health, reading only the confirmed and desired images, kept saying "up to date" (the
audit: stale) and nothing was planned until the periodic reconciliation pass, minutes
later. A check-in saying the same was corrected at once, but counted "up to date" too
until the next poll planned it. Simulated label, the real controller and dispatcher, one
test clock.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine

from esl.audit.gather import gather_audit
from esl.services.health import label_health
from gateways.base import Uplink
from tests.pipeline.in_memory_gateway import radio
from tests.pipeline.small_world import World
from tests.support.pipeline import publish_prices

PRICES_B = {"MLK-1": "3.19"}


@pytest.fixture
def world(engine: Engine) -> World:
    return World.priced(engine, count=1)


async def _showing_an_older_price(world: World) -> str:
    """The label, once showing prices B as the record confirms, restored from a backup
    taken when it showed prices A (unknown to the controller): its id."""
    (label_id,) = world.labels
    await world.converge()
    backup = world.back_up(label_id)
    publish_prices(world.sessions, PRICES_B, now=world.clock.now)
    await world.converge()
    world.restore(label_id, backup)
    assert world.labels[label_id].shown_hash is not None
    assert world.labels[label_id].shown_hash.hex() != world.hash_of(label_id)
    return label_id


async def _pinged(world: World, label_id: str) -> list[Uplink]:
    """45 minutes of silence: the controller pings the label; the label's answers."""
    world.clock.advance(timedelta(minutes=46))
    world.controller.plan_due_work()  # the periodic pass (nothing to see), then the ping
    await world.send_due()
    sent = world.gateway.take()
    assert [d.label_id for d in sent] == [label_id], "the keep-alive ping"
    answers = radio(sent, world.labels, now=world.clock.now)
    assert len(answers) == 1
    return answers


async def _heard_by_keepalive_ping(world: World, label_id: str) -> None:
    world.dispatcher.settle(await _pinged(world, label_id))


async def _heard_by_check_in(world: World, label_id: str) -> None:
    """The ping's answer is lost; the label's check-in a moment later is newer than any
    answer held (the label took the ping), so it is believed."""
    await _pinged(world, label_id)
    world.clock.advance(timedelta(seconds=10))
    world.dispatcher.settle([world.check_in(label_id)])
    assert world.dispatcher.counts.reconciled == 1


@pytest.mark.parametrize("heard", [_heard_by_keepalive_ping, _heard_by_check_in])
async def test_a_label_heard_showing_another_image_is_pending_and_planned_at_once(
    world: World, heard: object
) -> None:
    label_id = await _showing_an_older_price(world)
    assert callable(heard)
    await heard(world, label_id)

    # Right after the answer is settled: the controller knows the panel differs.
    with world.sessions() as session:
        (health,) = label_health(session, now=world.clock.now)
        (verdict,) = gather_audit(
            session, at=world.clock.now, now=world.clock.now, currency="PLN", locale="pl_PL"
        ).report.labels
    state = world.state(label_id)
    assert not verdict.shows_due, "the audit sees the older price"
    assert (health.up_to_date, health.pending) == (0, 1), (
        f"health {health} while the label reported {state.displayed_hash} "
        f"(confirmed {state.confirmed_hash}, audit {verdict.audit_class.value})"
    )

    # The next poll, well before the periodic pass, plans the correcting frame.
    world.clock.advance(timedelta(seconds=1))
    assert world.controller.plan_due_work() == 1
    await world.send_due()
    world.dispatcher.settle(radio(world.gateway.take(), world.labels, now=world.clock.now))
    world.clock.advance(timedelta(seconds=30))  # past the panel's refresh
    label = world.labels[label_id]
    label.synchronize(now=world.clock.now)
    assert label.shown_hash is not None
    assert label.shown_hash.hex() == world.hash_of(label_id) == world.state(label_id).confirmed_hash
    with world.sessions() as session:
        (health,) = label_health(session, now=world.clock.now)
    assert health.up_to_date == 1
