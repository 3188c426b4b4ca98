"""Migration 0008 on an existing database: the planning queue is filled from what the
controller read before (ledger entries, promotion items), and parked reasons are split
into a `ParkReason` and a detail. SQLite always, PostgreSQL when configured."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from alembic import command
from sqlalchemy import Engine, select, text

from esl.db.engine import migrations_config, session_factory, upgrade_database
from esl.db.models import LabelRow, OutboxRow, PlanningQueueRow, PlanningQueueShelfRow
from tests.pipeline.shared_clock_store import publish
from tests.support.database import START


def _publish(engine: Engine, items: list[dict[str, Any]], *, later: bool = False) -> int:
    effective_at = START + timedelta(days=1) if later else None
    return publish(session_factory(engine), items, now=START, effective_at=effective_at)


def _queue(engine: Engine) -> tuple[set[tuple[int, object]], set[tuple[int, str, str | None]]]:
    with session_factory(engine)() as session:
        queued = {
            (row.publication_id, row.effective_at)
            for row in session.scalars(select(PlanningQueueRow))
        }
        shelves = {
            (row.publication_id, row.sku, row.store)
            for row in session.scalars(select(PlanningQueueShelfRow))
        }
    return queued, shelves


def test_upgrading_queues_published_publications_and_splits_parked_reasons(
    seeded: Engine,
) -> None:
    prices = _publish(
        seeded,
        [
            {"action": "set_price", "sku": "MLK-1", "amount": "3.49"},
            {"action": "set_price", "sku": "CHS-1", "amount": "8.99", "store": "S02"},
        ],
    )
    promotion = _publish(
        seeded,
        [
            {
                "action": "upsert_promotion",
                "promotion_id": "P1",
                "name": "-10%",
                "kind": "percent_off",
                "percent": "10",
                "categories": ["coffee"],
                "channels": ["store"],
            }
        ],
        later=True,
    )
    queued, shelves = _queue(seeded)
    assert queued == {(prices, START), (promotion, START + timedelta(days=1))}
    assert (prices, "MLK-1", "S01") in shelves
    assert (prices, "CHS-1", "S02") in shelves
    assert (prices, "CHS-1", "S01") not in shelves  # its price changed in S02 only
    assert (promotion, "CFE-1", None) in shelves  # a promotion's SKU, in every store
    sessions = session_factory(seeded)
    with sessions.begin() as session:
        session.add(
            LabelRow(
                id="L1", store="S01", model="2.9-bwr", secret_key=b"k" * 16, registered_at=START
            )
        )
        session.flush()
        session.add(
            OutboxRow(
                label_id="L1",
                store="S01",
                gateway="gw1",
                sequence=1,
                content_hash="ab" * 16,
                payload=b"frame",
                status="parked",
                attempts=3,
                not_before=START,
                parked_reason="rejected",
                parked_detail="INVALID_OPCODE",
                created_at=START,
            )
        )

    command.downgrade(migrations_config(seeded), "0007")
    with seeded.connect() as connection:
        # What the revision before stored: the detail inside the reason.
        assert connection.execute(text("SELECT parked_reason FROM outbox")).scalar_one() == (
            "rejected: INVALID_OPCODE"
        )
    upgrade_database(seeded)

    assert _queue(seeded) == (queued, shelves)
    with sessions() as session:
        row = session.scalars(select(OutboxRow)).one()
        assert (row.parked_reason, row.parked_detail) == ("rejected", "INVALID_OPCODE")
