"""A label given a new key while the controller runs (a BLE label unassociated and
associated again: `esl label unassociate`, then a kit) is verified with the new key from
the next uplink on: its answers count, and whatever is signed with the forgotten key is a
forgery. Before, the controller kept every key it had once loaded for as long as it ran:
the re-associated label's genuine answers failed as forged and its update never settled,
while the old device (which keeps the forgotten key for hours) or anyone holding the old
kit was still believed."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, select, update

from esl.db.models import LabelRow, SecurityEventRow
from firmware_sim.fleet import build_labels
from firmware_sim.images import ImageStore
from gateways.protocol import LabelProvision, generate_label_key
from tests.pipeline.small_world import PRICES_A, World
from tests.support.pipeline import publish_prices


async def rekeyed(engine: Engine) -> tuple[World, str]:
    """A world whose one label showed PRICES_A (its key loaded by the controller) and now
    has a new key in the database, as unassociating and associating again leave it."""
    world = await World.showing(engine, PRICES_A, count=1)
    label_id = sorted(world.labels)[0]
    new_key = generate_label_key()
    with world.sessions.begin() as session:
        session.execute(update(LabelRow).where(LabelRow.id == label_id).values(secret_key=new_key))
    world.keys[label_id] = new_key
    return world, label_id


def forged_answers(world: World, label_id: str) -> int:
    with world.sessions() as session:
        kinds = session.scalars(
            select(SecurityEventRow.kind).where(SecurityEventRow.label_id == label_id)
        ).all()
    return kinds.count("forged answer")


async def test_a_label_associated_again_is_heard_with_its_new_key(engine: Engine) -> None:
    world, label_id = await rekeyed(engine)
    model = world.labels[label_id].hardware.model.id
    (device,) = build_labels(
        [LabelProvision(label_id=label_id, model_id=model, key=world.keys[label_id])],
        now=world.clock.now,
        images=ImageStore(),
    )
    world.labels[label_id] = device  # the device holds the new key
    world.clock.advance(timedelta(minutes=1))
    publish_prices(world.sessions, {"MLK-1": "2.99"}, now=world.clock.now)

    await world.converge()  # before: "not converged", every answer a forgery

    assert forged_answers(world, label_id) == 0
    assert world.state(label_id).displayed_hash == world.hash_of(label_id)


async def test_an_answer_signed_with_the_forgotten_key_is_a_forgery(engine: Engine) -> None:
    world, label_id = await rekeyed(engine)
    seen = world.state(label_id).last_seen
    world.clock.advance(timedelta(minutes=1))

    world.dispatcher.settle([world.check_in(label_id)])  # the old device, old key

    assert forged_answers(world, label_id) == 1
    assert world.state(label_id).last_seen == seen
