"""A price changed (3.49 -> 2.99) and changed back while the label's word on the change
was still to come: the label drew 2.99 (sequence 2), the controller, not knowing, sent
the price back (sequence 3) and marked sequence 2 superseded. Then the label's word
arrives. Until it takes sequence 3 its panel shows 2.99, and the audit must say so,
whichever order its uplinks come in.

Found by review (a controller restart while the labels took the change, their uplinks
waiting at the broker): the label's newest check-in, believed, came in one batch ahead of
its older uplinks (its check-in from before the change, an earlier one after it); the
last older one was weighed in its place, as older, and with sequence 3 open left the
record on 3.49: the audit `match` ("shows 3.49, due 3.49") while the panel showed 2.99,
until the label took sequence 3, its check-ins showing 2.99 set aside meanwhile. And a
frame the label did not take (busy, or damaged on the way) answered with sequence 3
bounded what its later check-in at sequence 2 could report: set aside too.
Simulated label, the real controller and dispatcher, one test clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine

from esl.pipeline.check_ins import weigh_check_ins
from esl.pipeline.label_states import LabelState
from gateways.base import Downlink, Uplink
from gateways.protocol import FrameKind, ReasonCode, encode_response
from tests.pipeline.in_memory_gateway import radio
from tests.pipeline.small_world import T0, World
from tests.support.audit import audit_by_label
from tests.support.label_answers import synchronized_answer
from tests.support.pipeline import publish_prices


@dataclass
class HeldBack:
    """The label's uplinks about the change, none delivered yet, oldest first."""

    before: Uplink  # its check-in before the change reached it: 3.49, sequence 1
    answer: Uplink  # its answer to the change (sequence 2): 2.99
    first: Uplink  # its check-ins since: 2.99, sequence 2
    second: Uplink
    back: list[Downlink]  # the frame putting the price back (sequence 3), on its way


@pytest.fixture
def world(engine: Engine) -> World:
    return World.priced(engine, count=1)


async def _changed_and_back(world: World) -> HeldBack:
    await world.converge()  # 3.49, sequence 1 acknowledged
    (label_id,) = world.labels
    world.clock.advance(timedelta(minutes=1))
    publish_prices(world.sessions, {"MLK-1": "2.99"}, now=world.clock.now)
    world.controller.plan_due_work()
    await world.send_due()
    change = world.gateway.take()
    world.clock.advance(timedelta(seconds=1))
    before = world.check_in(label_id)
    world.clock.advance(timedelta(seconds=1))
    (answer,) = radio(change, world.labels, now=world.clock.now)  # drawn: 2.99
    world.clock.advance(timedelta(seconds=4))
    first = world.check_in(label_id)
    world.clock.advance(timedelta(seconds=4))
    second = world.check_in(label_id)
    world.clock.advance(timedelta(seconds=30))
    publish_prices(world.sessions, {"MLK-1": "3.49"}, now=world.clock.now)  # back
    world.controller.plan_due_work()
    await world.send_due()
    back = world.gateway.take()
    assert [frame.label_id for frame in back] == [label_id]
    assert world.rows(label_id) == [(1, "acked"), (2, "superseded"), (3, "sent")]
    world.clock.advance(timedelta(seconds=5))
    return HeldBack(before, answer, first, second, back)


def _refused_as_busy(world: World, label_id: str, sequence: int, at: datetime) -> Uplink:
    """The label's signed answer to frame `sequence`, refused (busy): not taken, its
    sequence stays where it was."""
    shown = world.panel_hash(label_id)
    assert shown is not None
    response = synchronized_answer(
        label_id,
        sequence,
        label_time=at,
        reason=ReasonCode.BUSY,
        displayed_hash=bytes.fromhex(shown),
    )
    return Uplink("S01", "gw1", encode_response(response, key=world.keys[label_id]), at)


async def _audit_follows_the_panel(world: World, held: HeldBack) -> None:
    """The label showing 2.99 is not `match`, nothing is sent twice while sequence 3 is
    on its way, and once the label takes it everything agrees on 3.49."""
    (label_id,) = world.labels
    label = world.labels[label_id]
    changed = world.panel_hash(label_id)
    state = world.state(label_id)
    verdict = audit_by_label(world.sessions, world.clock.now)[label_id]
    assert verdict.audit_class.value != "match", (
        f"audit {verdict.audit_class.value} (shows {verdict.shown_price}, due "
        f"{verdict.due_price}) while the panel shows 2.99 ({str(changed)[:12]}); record: "
        f"claim {state.claim_sequence}, displayed {str(state.displayed_hash)[:12]}"
    )
    assert verdict.shown_price == Decimal("2.99")
    assert state.displayed_hash == changed

    world.controller.plan_due_work()
    await world.send_due()
    resent = world.gateway.take()  # sequence 3 again, if the label refused it (busy)
    sequence, status = world.rows(label_id)[-1]
    assert sequence == 3, "no frame planned again"
    assert status in ("pending", "sent")

    world.clock.advance(timedelta(seconds=5))
    world.dispatcher.settle(radio(held.back + resent, world.labels, now=world.clock.now))
    await world.converge()
    assert label.last_sequence >= 3
    assert world.panel_hash(label_id) == world.hash_of(label_id)
    verdict = audit_by_label(world.sessions, world.clock.now)[label_id]
    assert verdict.audit_class.value == "match"
    state = world.state(label_id)
    assert state.displayed_hash == state.confirmed_hash == world.hash_of(label_id)


async def test_the_answer_to_the_superseded_frame_alone_shows_the_change(world: World) -> None:
    held = await _changed_and_back(world)
    world.dispatcher.settle([held.answer])
    await _audit_follows_the_panel(world, held)


@pytest.mark.parametrize(
    "order",
    [
        pytest.param(("second", "first", "answer", "before"), id="newest-first"),
        pytest.param(("answer", "first", "second", "before"), id="the-check-in-before-last"),
        pytest.param(("second", "first"), id="check-ins-reversed"),
    ],
)
async def test_older_uplinks_behind_the_newest_check_in_do_not_hide_it(
    world: World, order: tuple[str, ...]
) -> None:
    held = await _changed_and_back(world)
    world.dispatcher.settle([getattr(held, name) for name in order])  # one batch
    await _audit_follows_the_panel(world, held)


async def test_a_frame_refused_busy_does_not_set_aside_the_check_in_after_it(
    world: World,
) -> None:
    (label_id,) = world.labels
    held = await _changed_and_back(world)  # the answer to sequence 2 is lost
    busy = _refused_as_busy(world, label_id, 3, held.second.received_at)
    world.dispatcher.settle([busy])
    world.clock.advance(timedelta(seconds=4))
    world.dispatcher.settle([world.check_in(label_id)])
    await _audit_follows_the_panel(world, held)


def test_a_believed_check_in_is_recorded_while_an_update_is_open(engine: Engine) -> None:
    """Unit level: the label's newest check-in differs from the record while a frame is
    on its way: nothing is planned again (the frame is coming), but what it shows is
    recorded, though the history holds a higher sequence the label refused."""
    from esl.db.engine import session_factory

    shows, recorded = bytes(range(16)), "ab" * 16
    state = LabelState(
        label_id="L1",
        last_sequence=3,
        desired_hash=recorded,
        confirmed_hash=recorded,
        displayed_hash=recorded,
        claim_sequence=2,
    )
    check_in = synchronized_answer(
        "L1", 2, label_time=T0, displayed_hash=shows, kind=FrameKind.CHECK_IN
    )
    with session_factory(engine)() as session:
        reconciled, _ = weigh_check_ins(
            session,
            {"L1": state},
            {"L1": (check_in, T0)},
            answered_now=[("L1", 3)],  # an answer refusing frame 3 (busy)
            open_now={"L1"},
        )
    assert reconciled == []  # sequence 3 is on its way: not planned again
    assert state.displayed_hash == shows.hex()
    assert state.confirmed_hash == state.desired_hash == recorded
