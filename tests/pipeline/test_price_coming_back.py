"""A price that comes back to what the record says the panel shows is sent again unless
nothing on its way could change the panel (`LabelState.settled_on`).

Found by review: the planner trusted `displayed_hash` and sent nothing when the label had
flipped to a timed image unheard, when it held a flip to a promotion since dropped, and
when a frame of another price was already at the store gateway. In each case the record
said "confirmed" while the panel showed another price, and nothing repaired it. Each test
compares the simulated panel with the record and with a fresh render of what is due.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine

from esl.services.health import label_health
from tests.pipeline.in_memory_gateway import radio
from tests.pipeline.shared_clock_store import publish
from tests.pipeline.small_world import World
from tests.support.pipeline import publish_flash_promotion, publish_prices


@pytest.fixture
def world(engine: Engine) -> World:
    return World.priced(engine, count=1)


def _assert_panel_and_record_show_what_is_due(world: World, label_id: str) -> None:
    label = world.labels[label_id]
    label.synchronize(now=world.clock.now)
    due = world.hash_of(label_id)
    state = world.state(label_id)
    panel = label.shown_hash.hex() if label.shown_hash else None
    with world.sessions() as session:
        health = label_health(session, now=world.clock.now)
    assert state.confirmed_hash == due, "the record does not confirm what is due"
    assert panel == due, (
        f"the panel shows {str(panel)[:12]}, not the due {due[:12]}; record confirmed "
        f"{str(state.confirmed_hash)[:12]}, displayed {str(state.displayed_hash)[:12]}; "
        f"health {health}"
    )


async def test_price_returning_after_an_unheard_flip_reaches_the_panel(world: World) -> None:
    label_id = sorted(world.labels)[0]
    await world.converge()  # shows 3.49
    flip = (world.clock.now + timedelta(minutes=30)).replace(microsecond=0)
    publish_prices(world.sessions, {"MLK-1": "2.49"}, now=world.clock.now, effective_at=flip)
    await world.converge()  # holds the flip to 2.49
    # The instant passes; the label flips on its own clock (no check-in reported).
    world.clock.now = flip + timedelta(minutes=5)
    await world.converge()
    label = world.labels[label_id]
    label.synchronize(now=world.clock.now)
    assert label.shown_hash is not None
    assert label.shown_hash.hex() == world.hash_of(label_id)  # 2.49 on the panel, as due
    # The price goes back to 3.49, now.
    world.clock.advance(timedelta(minutes=1))
    publish_prices(world.sessions, {"MLK-1": "3.49"}, now=world.clock.now)
    await world.converge()
    world.clock.advance(timedelta(seconds=30))
    _assert_panel_and_record_show_what_is_due(world, label_id)


async def test_after_an_unheard_flip_and_a_return_the_record_stays_true(world: World) -> None:
    """The same, then the periodic re-plan and reconciliation pass run."""
    label_id = sorted(world.labels)[0]
    await world.converge()
    flip = (world.clock.now + timedelta(minutes=30)).replace(microsecond=0)
    publish_prices(world.sessions, {"MLK-1": "2.49"}, now=world.clock.now, effective_at=flip)
    await world.converge()
    world.clock.now = flip + timedelta(minutes=5)
    await world.converge()
    publish_prices(world.sessions, {"MLK-1": "3.49"}, now=world.clock.now)
    await world.converge()
    settings = world.controller.settings
    world.clock.advance(max(settings.reconcile_every, settings.replan_every) + timedelta(minutes=1))
    await world.converge()
    _assert_panel_and_record_show_what_is_due(world, label_id)


async def test_a_dropped_promotion_does_not_flip_onto_the_shelf(world: World) -> None:
    label_id = sorted(world.labels)[0]
    label = world.labels[label_id]
    await world.converge()  # shows 3.49
    starts = (world.clock.now + timedelta(hours=2)).replace(microsecond=0)
    publish_flash_promotion(
        world.sessions,
        now=world.clock.now,
        kind="percent_off",
        percent="20",
        valid_from=starts.isoformat(),
    )
    await world.converge()
    assert label.scheduled_page is not None  # it holds the flip to -20 %
    world.clock.advance(timedelta(minutes=5))
    publish(
        world.sessions, [{"action": "end_promotion", "promotion_id": "FLASH"}], now=world.clock.now
    )  # dropped before it starts
    await world.converge()
    assert label.scheduled_page is None  # the image of now, sent again, cancelled it
    world.clock.now = starts + timedelta(minutes=1)
    await world.converge()
    settings = world.controller.settings
    world.clock.advance(max(settings.reconcile_every, settings.replan_every))
    await world.converge()
    _assert_panel_and_record_show_what_is_due(world, label_id)


async def _x_in_flight_then_a_back(world: World) -> list:
    await world.converge()  # shows A (3.49)
    world.clock.advance(timedelta(minutes=1))
    publish_prices(world.sessions, {"MLK-1": "4.99"}, now=world.clock.now)  # X
    world.controller.plan_due_work()
    await world.send_due()
    in_flight = world.gateway.take()  # X's frame, at the store gateway
    assert len(in_flight) == 1
    world.clock.advance(timedelta(seconds=2))
    publish_prices(world.sessions, {"MLK-1": "3.49"}, now=world.clock.now)  # A again
    world.controller.plan_due_work()
    await world.send_due()
    again = world.gateway.take()  # X may still reach the panel: A is sent again
    assert len(again) == 1
    # The label checks in and the gateway delivers what it was given, in order.
    world.clock.advance(timedelta(seconds=20))
    return radio(in_flight + again, world.labels, now=world.clock.now)


async def test_a_price_back_while_another_is_in_flight_reaches_the_panel(world: World) -> None:
    label_id = sorted(world.labels)[0]
    answers = await _x_in_flight_then_a_back(world)
    world.dispatcher.settle(answers)
    await world.converge()
    world.clock.advance(timedelta(seconds=30))
    _assert_panel_and_record_show_what_is_due(world, label_id)


async def test_a_price_back_while_another_is_in_flight_reaches_the_panel_unanswered(
    world: World,
) -> None:
    label_id = sorted(world.labels)[0]
    await _x_in_flight_then_a_back(world)  # both answers are lost
    settings = world.controller.settings
    for _ in range(3):
        world.clock.advance(max(settings.reconcile_every, settings.replan_every))
        await world.converge()
    _assert_panel_and_record_show_what_is_due(world, label_id)
