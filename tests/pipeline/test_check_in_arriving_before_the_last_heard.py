"""A believed check-in stamped by its gateway before the label's last heard word (a
resumed gateway relaying its backlog with the instants it heard them, after an older
word of the label's had come in stamped later): its claim was accepted but what it shows
was never weighed, only its health being refused as older than what is held. A price
changed (3.49 -> 2.99) and back while the label's word on the change was still to come:
the label drew 2.99 (sequence 2), its check-in saying so moved the claim to 2 while the
record kept 3.49 as shown, and with sequence 3 (3.49) on its way the audit said `match`
on a shelf showing 2.99. Now a check-in whose claim is accepted is weighed whether or
not its battery, signal and `last_seen` are taken.
Simulated label, the real controller and dispatcher, one test clock."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from tests.pipeline.small_world import World
from tests.pipeline.test_answer_to_a_superseded_frame import (
    _audit_follows_the_panel,
    _changed_and_back,
    world,  # noqa: F401 (the fixture)
)


async def test_a_believed_check_in_stamped_before_the_last_heard_is_weighed(
    world: World,  # noqa: F811 (the fixture)
) -> None:
    (label_id,) = world.labels
    held = await _changed_and_back(world)  # the answer to sequence 2 is lost
    assert world.rows(label_id)[-1] == (3, "sent")  # 3.49 on its way
    # The label's check-in from before the change, relayed late and stamped on arrival.
    world.dispatcher.settle([replace(held.before, received_at=world.clock.now)])
    world.clock.advance(timedelta(seconds=5))
    # Its check-in after it drew 2.99, from a resumed gateway's backlog: stamped when heard.
    assert held.first.received_at < world.state(label_id).last_seen
    world.dispatcher.settle([held.first])
    assert world.state(label_id).claim_sequence == 2  # believed
    await _audit_follows_the_panel(world, held)
