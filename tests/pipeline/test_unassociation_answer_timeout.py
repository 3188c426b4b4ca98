"""A BLE unassociation's first step (the label acknowledging its identification screen)
waits for an answer counted from when the screen went out, not from the take-up.

The unassociation has the label's identification screen planned and sent first, and
sends the signed Unassociate only once the label acknowledged that screen. Planning may
reach the label a while after the request (a long pass over many labels), or the screen
may wait for room in its gateway's window: the label cannot answer a frame it was never
sent. Counted from the take-up, staff read "not confirmed: the label did not answer" for
a label that showed its screen and gave up its key a minute later. As a refresh does
(tests/pipeline/test_refresh_answer_timeout.py), the wait counts from the screen's send;
a screen never sent fails after `ESL_LABEL_ACTION_NOT_SENT_LIMIT_S`, and a label busy
drawing the late screen is waited for from then (`ESL_LABEL_ACTION_WAIT_LIMIT_S`).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine

from esl.db.ble_models import BleLabelInventoryRow
from esl.db.models import LabelRow
from esl.services.ble_inventory import record_ble_association, unassociate_ble_label
from esl.settings import Settings
from gateways.ble.control_point import EslAddress
from gateways.ble.inventory import DisplayInformation, LabelInventoryRecord
from gateways.protocol import LabelState
from rendering.display_models import get_display_model
from tests.pipeline.in_memory_gateway import radio
from tests.pipeline.small_world import World
from tests.support.pipeline import ADMIN, publish_prices


async def _world(engine: Engine, count: int = 1, settings: Settings | None = None) -> World:
    """Labels showing their prices, each associated over BLE, their panel refresh over."""
    world = World.priced(engine, count=count, settings=settings)
    await world.converge()
    model = get_display_model("2.9-bwr")
    with world.sessions.begin() as session:
        for esl_id, label_id in enumerate(sorted(world.labels)):
            record_ble_association(
                session,
                label_id=label_id,
                gateway="gw1",
                record=LabelInventoryRecord(
                    address=f"C0:FF:EE:00:00:{esl_id:02X}",
                    esl_address=EslAddress(esl_id=esl_id),
                    displays=(DisplayInformation(model.width, model.height, 2),),
                    max_image_index=3,
                    leds=(),
                    associated_at=world.clock.now,
                ),
                now=world.clock.now,
            )
    world.clock.advance(timedelta(seconds=20))
    return world


def _unassociate(world: World, label_id: str) -> int:
    with world.sessions.begin() as session:
        return unassociate_ble_label(
            session, principal=ADMIN, store="S01", label_id=label_id, now=world.clock.now
        ).id


async def _rounds(world: World, seconds: int, *, plan: bool, every: int = 5) -> None:
    """Dispatcher rounds `every` seconds for `seconds`; planning runs in them only with
    `plan` (otherwise it is busy elsewhere)."""
    for _ in range(seconds // every):
        world.clock.advance(timedelta(seconds=every))
        if plan:
            world.controller.plan_due_work()
        await world.send_due()
        world.dispatcher.settle(radio(world.gateway.take(), world.labels, now=world.clock.now))


def _forgotten(world: World, label_id: str) -> bool:
    with world.sessions() as session:
        label = session.get(LabelRow, label_id)
        assert label is not None
        return session.get(BleLabelInventoryRow, label_id) is None and label.gateway is None


async def test_a_screen_planned_after_a_minute_is_confirmed_and_the_label_unassociated(
    engine: Engine,
) -> None:
    world = await _world(engine)
    (label_id,) = world.labels
    action_id = _unassociate(world, label_id)
    await _rounds(world, 90, plan=False)  # planning is busy with other labels
    assert world.action_outcome(action_id) == (
        "sent",
        "showing its identification screen before it is unassociated",
    )
    await _rounds(world, 60, plan=True)
    status, detail = world.action_outcome(action_id)
    assert status == "answered", detail
    assert world.labels[label_id].state(now=world.clock.now) is LabelState.UNASSOCIATED
    assert _forgotten(world, label_id)


async def test_a_screen_never_sent_fails_after_the_installations_limit_key_kept(
    engine: Engine,
) -> None:
    world = await _world(engine, settings=Settings(label_action_not_sent_limit_s=300))
    (label_id,) = world.labels
    action_id = _unassociate(world, label_id)
    await _rounds(world, 295, plan=False)  # its label never planned
    assert world.action_outcome(action_id)[0] == "sent"
    await _rounds(world, 10, plan=False)
    assert world.action_outcome(action_id) == (
        "failed",
        "its identification screen was not sent within 300 s: it is still associated and "
        "the controller keeps its key; ask again, or unassociate with --force "
        "(API: ?force=true) to forget it without the device",
    )
    assert not _forgotten(world, label_id)


async def test_a_screen_behind_a_full_window_is_confirmed_and_the_label_unassociated(
    engine: Engine,
) -> None:
    """A price change fills the gateway's window (8 frames) with frames lost on the air;
    the leaving label's screen waits behind them until they time out (2 min), then the
    label draws it (busy a while after) and is sent Unassociate."""
    world = await _world(engine, count=9)  # its gateway's window holds 8 frames
    publish_prices(world.sessions, {"MLK-1": "3.79"}, now=world.clock.now)
    world.controller.plan_due_work()
    await world.send_due()
    in_the_air = {d.label_id for d in world.gateway.take()}
    assert len(in_the_air) == 8  # never reach their labels
    (label_id,) = set(world.labels) - in_the_air
    action_id = _unassociate(world, label_id)
    for _ in range(300):  # rounds every second: a busy label is found busy between tries
        if world.action_outcome(action_id)[0] not in ("requested", "sent"):
            break
        await _rounds(world, 1, plan=True, every=1)
    status, detail = world.action_outcome(action_id)
    assert status == "answered", detail
    assert world.labels[label_id].state(now=world.clock.now) is LabelState.UNASSOCIATED
    assert _forgotten(world, label_id)
