"""A replayed check-in via gw2 must not strand the label's update in flight via gw1.

gw2's login (or a misbehaving gw2) publishes an old check-in of a gw1 label: the
controller probes the label via gw2 (label_moves.request_probes) and, as the probe waits
for no frame in flight, signs the label's price update in flight via gw1 again
(label_actions._resign_waiting(in_flight=True)): the frame in flight superseded, its copy
pending "due now". Before, nothing told the dispatcher's gw1 window that a row came due
(no `due_at`, no `forget_idle`): the window, idle since its last send found nothing else
due, never looked again, and the superseded frame's timeout retried nothing
(`_still_sent` drops it). So when the first copy was lost on its way (gw1 lost it, the
label was briefly out of reach: exactly the case a retry is for), the label kept the old
price for as long as nothing else happened in the store, while it checked in via gw1
every 30 s and gw1 reached it fine. Now the copy's window looks again at once
(`label_actions.SignedAgainInFlight`), and the superseded frame's slot is freed.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from sqlalchemy import Engine, select

from esl.db.models import OutboxRow
from gateways.base import Uplink
from tests.pipeline.in_memory_gateway import radio
from tests.support.pipeline import publish_prices
from tests.support.two_gateways import two_gateway_world


def _via(uplink: Uplink, gateway: str) -> Uplink:
    return replace(uplink, gateway=gateway)


async def test_a_replayed_check_in_via_gw2_does_not_strand_the_update_in_flight_via_gw1(
    engine: Engine,
) -> None:
    world, label_id = await two_gateway_world(engine)
    old = world.check_in(label_id)
    world.dispatcher.settle([old])
    world.clock.advance(timedelta(minutes=5))
    world.dispatcher.settle([world.check_in(label_id)])
    publish_prices(world.sessions, {"MLK-1": "2.99"}, now=world.clock.now)
    world.controller.plan_due_work()
    await world.send_due()
    assert [d.gateway for d in world.gateway.take()] == ["gw1"]  # lost on its way
    world.dispatcher.settle([_via(old, "gw2")])  # gw2's login replays an old check-in
    through: list[str] = []
    for _ in range(40):  # 20 minutes: gw1 reaches the label, which checks in via gw1
        world.clock.advance(timedelta(seconds=30))
        world.controller.plan_due_work()
        await world.send_due()
        sent = world.gateway.take()
        through += [d.gateway for d in sent]
        reached = [d for d in sent if d.gateway == "gw1"]
        world.dispatcher.settle(radio(reached, world.labels, now=world.clock.now))
        world.dispatcher.settle([world.check_in(label_id)])
    with world.sessions() as session:
        rows = session.execute(
            select(OutboxRow.sequence, OutboxRow.status, OutboxRow.gateway)
            .where(OutboxRow.label_id == label_id)
            .order_by(OutboxRow.sequence)
        ).all()
    assert world.panel_hash(label_id) == world.hash_of(label_id), (
        f"20 minutes on the label still shows the old price; sent via {through}; rows {rows}"
    )
