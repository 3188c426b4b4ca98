"""The hand-off from publishing to planning: what is published is queued in the same
transaction, and the controller plans from the queue, whenever it runs.

In memory (`World`): a label store on the in-memory gateway and one test clock.
"""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, delete, select

from esl.composition import build_controller, controller_settings
from esl.db.models import LedgerEntryRow, OutboxRow, PlannedPublicationRow, PlanningQueueRow
from esl.errors import PublicationStateError
from esl.pipeline import UpdateController
from esl.planning_queue import queued_shelves
from esl.services.publication import create_publication, publish_publication
from esl.services.publication_commands import SetPrice
from esl.settings import Settings
from tests.pipeline.small_world import PRICES_A, World
from tests.support.pipeline import publish, publish_prices


@pytest.fixture
def world(engine: Engine) -> World:
    world = World(engine, count=3)
    publish_prices(world.sessions, PRICES_A, now=world.clock.now)
    return world


def _restarted(world: World) -> UpdateController:
    """A new controller on the same database: nothing of the old one's memory."""
    return build_controller(
        controller_settings(Settings.defaults(), window=8, lead=timedelta(hours=1)),
        gateway=world.gateway,
        sessions=world.sessions,
        clock=world.clock,
        rng=random.Random(4),
    )


def _frames(world: World) -> list[tuple[str, object]]:
    with world.sessions() as session:
        return [
            (row.label_id, row.display_at)
            for row in session.scalars(
                select(OutboxRow).where(OutboxRow.status.in_(("pending", "held")))
            )
        ]


async def test_a_publication_not_planned_before_a_restart_is_planned_after_it(
    world: World,
) -> None:
    await world.converge()
    # Published while the controller was down: the queue holds it.
    publication = publish_prices(world.sessions, {"MLK-1": "2.99"}, now=world.clock.now)
    controller = _restarted(world)
    assert controller.plan_due_work() == 3
    assert sorted(label for label, _ in _frames(world)) == sorted(world.labels)
    with world.sessions() as session:
        assert session.get(PlannedPublicationRow, publication) is not None
    world.controller, world.dispatcher = controller, controller.dispatcher
    await world.converge()
    # Planned once: a second restart finds nothing left to send.
    assert _restarted(world).plan_due_work() == 0


async def test_a_scheduled_publication_survives_a_restart_and_is_planned_at_its_lead(
    world: World,
) -> None:
    await world.converge()
    instant = world.clock.now + timedelta(hours=3)
    publish_prices(world.sessions, {"MLK-1": "2.99"}, now=world.clock.now, effective_at=instant)
    first = _restarted(world)
    assert first.plan_due_work() == 0  # three hours ahead, the lead is one hour
    world.clock.advance(timedelta(hours=2, minutes=30))
    # The controller that saw it too early is gone; a new one plans it, timed.
    assert _restarted(world).plan_due_work() == 3
    assert {at for _, at in _frames(world)} == {instant}


async def test_the_controller_plans_from_the_queue_not_from_the_ledger(world: World) -> None:
    await world.converge()
    publication = publish_prices(world.sessions, {"MLK-1": "2.99"}, now=world.clock.now)
    # The Omnibus ledger is a record, not the pipeline's work list: without the
    # publication's entries, its labels are still planned from the queue.
    with world.sessions.begin() as session:
        session.execute(delete(LedgerEntryRow).where(LedgerEntryRow.publication_id == publication))
    assert world.controller.plan_due_work() == 3
    await world.converge()
    assert all(world.labels[label].shown is not None for label in world.labels)
    assert {world.state(label).confirmed_hash for label in world.labels} == {
        world.hash_of(label) for label in world.labels
    }


def test_a_publication_that_fails_to_publish_queues_nothing(world: World) -> None:
    with world.sessions.begin() as session:
        draft = create_publication(
            session,
            title="not validated",
            effective_at=None,
            items=[SetPrice(sku="MLK-1", amount=Decimal("1.99"))],
            created_by="test",
            now=world.clock.now,
        ).id
    with pytest.raises(PublicationStateError), world.sessions.begin() as session:
        publish_publication(session, draft, published_by="t", now=world.clock.now, currency="PLN")
    with world.sessions() as session:
        assert session.get(PlanningQueueRow, draft) is None
        assert session.scalar(select(PlanningQueueRow.publication_id)) is not None


@pytest.mark.parametrize(
    ("first", "then", "queued"),
    [
        ({"skus": ["MLK-1"]}, None, {"MLK-1"}),
        ({"skus": ["MLK-1", "CFE-1"]}, {"skus": ["CHS-1"]}, {"MLK-1", "CHS-1", "CFE-1"}),
        ({"categories": ["dairy"]}, {"skus": ["CFE-1"]}, {"MLK-1", "CHS-1", "CFE-1"}),
    ],
    ids=["ended", "skus replaced", "category replaced"],
)
def test_a_promotion_withdrawn_before_its_start_queues_every_sku_it_reached(
    world: World, first: dict[str, Any], then: dict[str, Any] | None, queued: set[str]
) -> None:
    """Ended (`then` None) or replaced before its start: the queue names, in every store,
    the SKUs it reached (its labels may hold its flip), its targets read before the
    publication deletes or rewrites them; before, the ended one queued nothing and the
    replaced ones only their new targets."""
    promotion = {
        "action": "upsert_promotion",
        "promotion_id": "FLASH",
        "kind": "percent_off",
        "percent": "20",
        "valid_from": (world.clock.now + timedelta(hours=1)).isoformat(),
    }
    publish(world.sessions, [{**promotion, **first}], now=world.clock.now)
    ended = {"action": "end_promotion", "promotion_id": "FLASH"}
    withdrawal = ended if then is None else {**promotion, **then}
    publication = publish(world.sessions, [withdrawal], now=world.clock.now)
    with world.sessions() as session:
        assert queued_shelves(session, publication) == (set(), queued)
