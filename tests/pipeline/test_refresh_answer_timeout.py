"""A refresh's wait for its answer counts from when its image went out to the label, not
from when the controller took the request up.

A refresh's first step has its image planned again and sent; the label acknowledging
that image moves it on. Planning may reach the label only a while later (a long pass
over many labels), and the image may wait for room in its gateway's window: the label
cannot answer a frame it was never sent. Counted from the take-up, staff read "no answer
from the label in time" for a label that redrew its image a minute later. While its
image has not gone out the refresh waits, up to its own bound
(`ESL_LABEL_ACTION_NOT_SENT_LIMIT_S`). A label busy drawing that late image is waited
for from then, not from the request (`ESL_LABEL_ACTION_WAIT_LIMIT_S`). A copy of the
image superseded since it went out (planned again) no longer starts the wait: its
answer can no longer move the refresh on; the copy sent in its place does.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, select, update

from esl.db.models import LabelStateRow, OutboxRow
from esl.services.labels import bind_label
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
    return world.ask_refresh(label_id or next(iter(world.labels)))


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


async def test_a_refresh_whose_lost_image_was_planned_again_waits_for_the_new_copy(
    engine: Engine,
) -> None:
    """Staff refresh a label; its image goes out and is lost on the air. They press refresh
    again: the image is planned again (a new row), which supersedes the lost copy, whose
    answer can no longer move either refresh on. The new copy waits behind a full window
    (a price change's frames lost on the air, 2 min). The first refresh's wait counted
    from the superseded copy: "no answer from the label in time" a minute after it, while
    the label drew the new copy, and answered, after."""
    world = World.priced(engine, count=9)  # its gateway's window holds 8 frames
    label_id = sorted(world.labels)[-1]
    with world.sessions.begin() as session:  # another product: the price change spares it
        bind_label(
            session,
            principal=ADMIN,
            label_id=label_id,
            sku="CHS-1",
            template="standard",
            now=world.clock.now,
        )
    await world.converge()
    world.clock.advance(timedelta(seconds=20))
    label = world.labels[label_id]
    drawn_before = label.refreshes
    first = _ask_refresh(world, label_id)
    await _rounds(world, 5, plan=True)  # taken up
    await _rounds(world, 5, plan=True, deliver=False)  # its image planned, sent, lost
    assert [status for _, status in world.rows(label_id)][-1] == "sent"

    second = _ask_refresh(world, label_id)
    publish_prices(world.sessions, {"MLK-1": "3.79"}, now=world.clock.now)
    await _rounds(world, 5, plan=True, deliver=False)  # the price frames, lost on the air
    for _ in range(300):  # rounds every second: a busy label is found busy between tries
        if all(world.action_outcome(a)[0] not in ("requested", "sent") for a in (first, second)):
            break
        await _rounds(world, 1, plan=True, every=1)
    assert "superseded" in [status for _, status in world.rows(label_id)]  # the lost copy
    for action_id in (first, second):
        assert world.action_outcome(action_id) == ("answered", "the label drew its image again")
    assert label.refreshes >= drawn_before + 1
    assert label.shown_hash.hex() == world.state(label_id).confirmed_hash


async def test_a_refresh_whose_image_a_check_in_superseded_is_answered_by_the_next_copy(
    engine: Engine,
) -> None:
    """The database lost its last commits (the label counts further than the record). A
    refresh's image goes out and is lost on the air; the label's check-in, at a sequence
    beyond the record, supersedes it (the label would refuse it as stale). The wait no
    longer counts from that copy, whose answer could not move the refresh on: the image
    is planned again, and the refresh waits for that copy's answer, not for ever."""
    world = await _world(engine)
    (label_id,) = world.labels
    for price in ("3.79", "3.49"):  # two more frames taken, the label back at 3.49
        publish_prices(world.sessions, {"MLK-1": price}, now=world.clock.now)
        await world.converge()
    world.clock.advance(timedelta(seconds=20))
    with world.sessions.begin() as session:  # the record lost its last two signings
        session.execute(
            update(LabelStateRow)
            .where(LabelStateRow.label_id == label_id)
            .values(last_sequence=LabelStateRow.last_sequence - 2)
        )
    action_id = _ask_refresh(world)
    await _rounds(world, 5, plan=True)  # taken up
    await _rounds(world, 5, plan=True, deliver=False)  # its image planned, sent, lost
    world.dispatcher.settle([world.check_in(label_id)])
    with world.sessions() as session:  # the refresh's image, the label's last row
        last = session.scalars(
            select(OutboxRow.status)
            .where(OutboxRow.label_id == label_id)
            .order_by(OutboxRow.id.desc())
            .limit(1)
        ).one()
    assert last == "superseded"
    await _rounds(world, 30, plan=True)
    assert world.action_outcome(action_id) == ("answered", "the label drew its image again")
