"""A frame signed in commits the database then lost (a restore), held by the store
gateway for a label out of reach and delivered when the label is back: the label takes it
and answers a signed SUCCESS naming a sequence above the record (docs/pipeline.md "Labels
that count further than the record"; a check-in doing so: `test_record_behind_the_label.py`).

Before, the answer was refused as answering "a sequence the controller never signed for
this label" (no outbox row has its number): the record went on saying the label showed
3.49, the audit said `match` on a panel showing the lost 2.99, no security event was
raised, and the next frame signed was refused as stale. Now the record takes the panel
the answer reports (an image the restored database never rendered: `unknown_content`),
counts on above it, and sends the due price, which the label takes.

SQLite, the controller and dispatcher, firmware_sim labels on one test clock.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine, select

from esl.db.models import LabelRow, SecurityEventRow
from gateways.base import Downlink, Uplink
from gateways.protocol import (
    LabelFrame,
    Ping,
    ReasonCode,
    decode_response,
    encode_frame,
    encode_response,
)
from tests.pipeline.in_memory_gateway import radio
from tests.pipeline.small_world import World
from tests.pipeline.test_record_behind_the_label import _back_up, _restore
from tests.support.audit import audit_by_label
from tests.support.pipeline import publish_prices


async def _a_lost_frame_held(engine: Engine, tmp_path: Path) -> tuple[World, str, list[Downlink]]:
    """2.99 signed and handed to the gateway while the label is out of reach; then the
    database restored, losing the publication and the frame. The record: 3.49, shown."""
    world = World.priced(engine, count=1)
    await world.converge()
    label_id = sorted(world.labels)[0]
    _back_up(engine, tmp_path)
    world.clock.advance(timedelta(minutes=1))
    publish_prices(world.sessions, {"MLK-1": "2.99"}, now=world.clock.now)
    world.controller.plan_due_work()
    await world.send_due()
    held = world.gateway.take()
    assert held
    _restore(engine, world, tmp_path)
    world.clock.advance(timedelta(minutes=1))
    await world.converge()  # nothing to send: the record says the label shows 3.49
    return world, label_id, held


def _key_of(world: World, label_id: str) -> bytes:
    with world.sessions() as session:
        key = session.scalar(select(LabelRow.secret_key).where(LabelRow.id == label_id))
    assert key is not None
    return key


def _events(world: World) -> list[str]:
    with world.sessions() as session:
        return list(session.scalars(select(SecurityEventRow.kind)))


async def test_the_acknowledgement_of_a_lost_frame_above_the_record_is_believed(
    engine: Engine, tmp_path: Path
) -> None:
    world, label_id, held = await _a_lost_frame_held(engine, tmp_path)
    due = world.hash_of(label_id)
    signed_up_to = world.state(label_id).last_sequence

    # Back in reach: the gateway delivers the frame it held, the label answers.
    world.dispatcher.settle(radio(held, world.labels, now=world.clock.now))
    assert world.panel_hash(label_id) != due  # the lost 2.99
    verdict = audit_by_label(world.sessions, world.clock.now)[label_id]
    # Its image was rendered in the commits lost: the record knows no price behind it.
    assert verdict.audit_class.value == "unknown_content", verdict.reason
    assert not verdict.shows_due
    assert "sequence ahead of record" in _events(world)
    assert world.state(label_id).last_sequence > signed_up_to

    # Planned again: the due 3.49 goes out above the label's count and is taken.
    await world.converge()
    assert world.panel_hash(label_id) == due
    verdict = audit_by_label(world.sessions, world.clock.now)[label_id]
    assert verdict.audit_class.value == "match", verdict.reason
    assert "parked" not in {status for _, status in world.rows(label_id)}


async def test_a_forged_acknowledgement_above_the_record_changes_nothing(
    engine: Engine, tmp_path: Path
) -> None:
    """Only the label's key makes an answer proof: one signed with any other is a forgery
    (a security event of its own), never a reason to move the count or the record."""
    world, label_id, held = await _a_lost_frame_held(engine, tmp_path)
    state = world.state(label_id)
    genuine = radio(held, world.labels, now=world.clock.now)[0]
    answer = decode_response(genuine.payload, key=_key_of(world, label_id))
    forged = encode_response(replace(answer, sequence=state.last_sequence + 5), key=bytes(32))
    world.dispatcher.settle([replace(genuine, payload=forged)])
    assert world.state(label_id).last_sequence == state.last_sequence
    assert world.state(label_id).confirmed_hash == state.confirmed_hash
    assert "sequence ahead of record" not in _events(world)
    assert "forged answer" in _events(world)


async def test_a_label_refusing_a_forged_frame_names_the_forgers_number_not_its_count(
    engine: Engine, tmp_path: Path
) -> None:
    """A label signs its refusal of a frame forged in the controller's name with the
    number the forger chose: a refusal never proves the label counts that far."""
    world, label_id, _ = await _a_lost_frame_held(engine, tmp_path)
    state = world.state(label_id)
    forged = Downlink(
        "S01",
        "gw1",
        label_id,
        encode_frame(
            LabelFrame(label_id=label_id, sequence=state.last_sequence + 5, command=Ping()),
            key=bytes(32),
        ),
    )
    answers: list[Uplink] = radio([forged], world.labels, now=world.clock.now)
    refused = decode_response(answers[0].payload, key=_key_of(world, label_id))
    assert refused.reason is ReasonCode.BAD_MAC  # signed by the label, the forger's number
    world.dispatcher.settle(answers)
    assert world.state(label_id).last_sequence == state.last_sequence
    assert "sequence ahead of record" not in _events(world)
    await world.converge()
    assert audit_by_label(world.sessions, world.clock.now)[label_id].audit_class.value == "match"
