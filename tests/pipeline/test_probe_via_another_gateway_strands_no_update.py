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

from datetime import timedelta

from sqlalchemy import Engine, select

from esl.db.models import OutboxRow
from tests.support.pipeline import publish_prices
from tests.support.two_gateways import rounds, two_gateway_world, via


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
    world.dispatcher.settle([via(old, "gw2")])  # gw2's login replays an old check-in
    # 20 minutes: gw1 reaches the label, which checks in via gw1
    through = await rounds(world, label_id, 40, reaches="gw1")
    with world.sessions() as session:
        rows = session.execute(
            select(OutboxRow.sequence, OutboxRow.status, OutboxRow.gateway)
            .where(OutboxRow.label_id == label_id)
            .order_by(OutboxRow.sequence)
        ).all()
    assert world.panel_hash(label_id) == world.hash_of(label_id), (
        f"20 minutes on the label still shows the old price; sent via {through}; rows {rows}"
    )
