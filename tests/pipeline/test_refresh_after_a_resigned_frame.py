"""A refresh is answered only once the label drew the content due now, never after an
older frame signed again since the request.

A refresh forgets what the label shows, has its image planned again, and once the label
acknowledged that image sends Refresh Display. It told the image apart by id: a frame
acknowledged with an id above the label's last one when the refresh was taken up. But an
action sent meanwhile (a flash) signs a frame waiting to be sent again (an older price
whose answer timed out) as a new row, with a higher id: its acknowledgement took the
refresh to its second step before the image was even planned. The label drew the older
price, the refresh was answered "the label drew its image again", and the price due (a
publication planning had not reached yet) came only after, as a change against the
older price rather than the whole image a refresh sends.

Here planning is busy elsewhere (a long pass) while the dispatcher's rounds go on.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, select

from esl.db.console_models import LabelActionRow
from esl.services.label_actions import ActionKind, request_action
from tests.pipeline.in_memory_gateway import radio
from tests.pipeline.small_world import World
from tests.support.pipeline import ADMIN, publish_prices


async def _dispatch_round(world: World, *, plan: bool, after_s: int = 5) -> None:
    world.clock.advance(timedelta(seconds=after_s))
    if plan:
        world.controller.plan_due_work()
    await world.send_due()
    world.dispatcher.settle(radio(world.gateway.take(), world.labels, now=world.clock.now))


def _refresh(world: World) -> tuple[str, str | None]:
    with world.sessions() as session:
        return session.execute(
            select(LabelActionRow.status, LabelActionRow.detail).where(
                LabelActionRow.action == ActionKind.REFRESH.value
            )
        ).one()


async def test_a_refresh_is_answered_only_after_the_label_drew_the_price_due(
    engine: Engine,
) -> None:
    world = World.priced(engine, count=1)
    (label_id,) = world.labels
    label = world.labels[label_id]
    await world.converge()  # shows 3.49
    world.clock.advance(timedelta(seconds=20))  # its panel refresh is over

    # A new price is sent and lost; unanswered in time, it waits to be sent again.
    publish_prices(world.sessions, {"MLK-1": "3.79"}, now=world.clock.now)
    world.controller.plan_due_work()
    await world.send_due()
    assert len(world.gateway.take()) == 1  # never reaches the label
    world.clock.advance(world.dispatcher.policy.ack_timeout + timedelta(seconds=1))
    await world.send_due()
    assert [status for _, status in world.rows(label_id)] == ["acked", "pending"]

    # Another price is published; before planning reaches it, staff refresh the label
    # and flash it to find it on the shelf.
    publish_prices(world.sessions, {"MLK-1": "3.99"}, now=world.clock.now)
    for kind in (ActionKind.REFRESH, ActionKind.FLASH):
        with world.sessions.begin() as session:
            request_action(
                session, principal=ADMIN, label_id=label_id, kind=kind, now=world.clock.now
            )

    # Planning is busy with a long pass; the dispatcher's rounds go on: the flash (the
    # 3.79 frame, still waiting out its retry's delay, signed again after it), then the
    # 3.79 frame.
    await _dispatch_round(world, plan=False, after_s=1)
    for _ in range(6):
        await _dispatch_round(world, plan=False)
    # Then planning and sending, until the refresh is answered.
    for _ in range(24):
        if _refresh(world)[0] not in ("requested", "sent"):
            break
        await _dispatch_round(world, plan=True)
    assert _refresh(world) == ("answered", "the label drew its image again")
    label.synchronize(now=world.clock.now)
    due = world.hash_of(label_id)  # 3.99
    assert label.shown_hash.hex() == due, (
        "the refresh was answered while the label showed an older price"
    )
