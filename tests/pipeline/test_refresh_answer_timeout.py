"""A refresh's wait for its answer counts from when its image went out to the label, not
from when the controller took the request up.

A refresh's first step has its image planned again and sent; the label acknowledging
that image moves it on. Planning may reach the label only a while later (a long pass
over many labels), and the image may wait for room in its gateway's window: the label
cannot answer a frame it was never sent. Counted from the take-up, staff read "no answer
from the label in time" for a label that redrew its image a minute later. While its
image has not gone out the refresh waits, up to its own bound
(`ESL_LABEL_ACTION_NOT_SENT_LIMIT_S`). A label busy drawing that late image is waited
for from then, not from the request (`ESL_LABEL_ACTION_WAIT_LIMIT_S`).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine

from esl.services.label_actions import ActionKind, request_action
from esl.settings import Settings
from tests.pipeline.in_memory_gateway import radio
from tests.pipeline.small_world import World
from tests.support.pipeline import ADMIN, publish_prices


async def _world(engine: Engine, settings: Settings | None = None) -> World:
    """One label showing its prices, its panel refresh over."""
    world = World.priced(engine, count=1, settings=settings)
    await world.converge()
    world.clock.advance(timedelta(seconds=20))
    return world


def _ask_refresh(world: World, label_id: str | None = None) -> int:
    label_id = label_id or next(iter(world.labels))
    with world.sessions.begin() as session:
        return request_action(
            session,
            principal=ADMIN,
            label_id=label_id,
            kind=ActionKind.REFRESH,
            now=world.clock.now,
        ).id


async def _rounds(
    world: World, seconds: int, *, plan: bool, deliver: bool = True, every: int = 5
) -> None:
    """Dispatcher rounds `every` seconds for `seconds`; planning runs in them only with
    `plan` (otherwise it is busy elsewhere); frames reach the label only with `deliver`."""
    for _ in range(seconds // every):
        world.clock.advance(timedelta(seconds=every))
        if plan:
            world.controller.plan_due_work()
        await world.send_due()
        sent = world.gateway.take()
        if deliver:
            world.dispatcher.settle(radio(sent, world.labels, now=world.clock.now))


async def test_a_refresh_planned_after_a_minute_is_answered_once_the_label_drew_it(
    engine: Engine,
) -> None:
    world = await _world(engine)
    (label_id,) = world.labels
    label = world.labels[label_id]
    drawn_before = label.refreshes
    action_id = _ask_refresh(world)
    await _rounds(world, 90, plan=False)  # planning is busy with other labels
    assert world.action_outcome(action_id) == ("sent", "image planned again")
    await _rounds(world, 60, plan=True)
    assert world.action_outcome(action_id) == ("answered", "the label drew its image again")
    assert label.refreshes == drawn_before + 1
    assert label.shown_hash.hex() == world.state(label_id).confirmed_hash == world.hash_of(label_id)


async def test_a_refresh_whose_image_went_out_is_unanswered_a_minute_after_it_was_sent(
    engine: Engine,
) -> None:
    world = await _world(engine)
    action_id = _ask_refresh(world)
    await _rounds(world, 90, plan=False)
    await _rounds(world, 5, plan=True, deliver=False)  # planned and sent, lost on the air
    await _rounds(world, 55, plan=False, deliver=False)
    assert world.action_outcome(action_id)[0] == "sent"  # 145 s after the take-up
    await _rounds(world, 5, plan=False, deliver=False)
    assert world.action_outcome(action_id) == ("unanswered", "no answer from the label in time")


async def test_a_refresh_whose_image_is_never_sent_fails_after_the_installations_limit(
    engine: Engine,
) -> None:
    world = await _world(engine, Settings(label_action_not_sent_limit_s=300))
    action_id = _ask_refresh(world)
    await _rounds(world, 295, plan=False)  # its label never planned
    assert world.action_outcome(action_id)[0] == "sent"
    await _rounds(world, 10, plan=False)
    assert world.action_outcome(action_id) == ("failed", "its image was not sent within 300 s")


async def test_a_refresh_behind_a_full_window_is_answered_once_the_label_drew_it(
    engine: Engine,
) -> None:
    """A price change fills the gateway's window (8 frames) with frames lost on the air;
    the refreshed label's image waits behind them until they time out (2 min), then the
    label draws the new price (busy a while after) and is told to draw it again."""
    world = World.priced(engine, count=9)  # its gateway's window holds 8 frames
    await world.converge()
    world.clock.advance(timedelta(seconds=20))
    publish_prices(world.sessions, {"MLK-1": "3.79"}, now=world.clock.now)
    world.controller.plan_due_work()
    await world.send_due()
    in_the_air = {d.label_id for d in world.gateway.take()}
    assert len(in_the_air) == 8  # never reach their labels
    (label_id,) = set(world.labels) - in_the_air
    label = world.labels[label_id]
    action_id = _ask_refresh(world, label_id)
    for _ in range(300):  # rounds every second: a busy label is found busy between tries
        if world.action_outcome(action_id)[0] not in ("requested", "sent"):
            break
        await _rounds(world, 1, plan=True, every=1)
    assert world.action_outcome(action_id) == ("answered", "the label drew its image again")
    assert label.shown_hash.hex() == world.state(label_id).confirmed_hash == world.hash_of(label_id)
