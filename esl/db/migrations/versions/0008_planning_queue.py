"""The planning queue (publishing hands work to the pipeline) and parked details.

- `planning_queue` and `planning_queue_shelves`: a publication names, in its publishing
  transaction, the shelves whose labels it may change; the controller plans from these
  rows instead of reading the price ledger. Publications published before this revision
  are queued from their ledger entries and promotion items, so an upgraded controller
  loses nothing (one planned already stays planned: `planned_publications`).
- `outbox.parked_detail`: a parked reason is a `ParkReason` value; what it leaves open
  (the refusing reason code, the kind of tampering) moves from "rejected: X" into this
  column.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 12:00:00
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

from esl.db.types import UtcDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_SERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
# Parked reasons that carried their detail after ": " before this revision.
_DETAILED = ("rejected", "tampered in transit")
_CHUNK = 500


def upgrade() -> None:
    op.create_table(
        "planning_queue",
        sa.Column("publication_id", _SERIAL, nullable=False),
        sa.Column("effective_at", UtcDateTime(), nullable=False),
        sa.Column("queued_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["publication_id"],
            ["publications.id"],
            name=op.f("fk_planning_queue_publication_id_publications"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("publication_id", name=op.f("pk_planning_queue")),
    )
    op.create_table(
        "planning_queue_shelves",
        sa.Column("id", _SERIAL, autoincrement=True, nullable=False),
        sa.Column("publication_id", _SERIAL, nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("store", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["publication_id"],
            ["planning_queue.publication_id"],
            name=op.f("fk_planning_queue_shelves_publication_id_planning_queue"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_planning_queue_shelves")),
    )
    op.create_index(
        op.f("ix_planning_queue_shelves_publication_id"),
        "planning_queue_shelves",
        ["publication_id"],
    )
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("parked_detail", sa.String(length=64), nullable=True))
    _split_parked_reasons()
    _queue_published_publications()


def downgrade() -> None:
    outbox = sa.table(
        "outbox", sa.column("parked_reason", sa.String), sa.column("parked_detail", sa.String)
    )
    op.execute(
        outbox.update()
        .where(outbox.c.parked_detail.is_not(None))
        .values(parked_reason=outbox.c.parked_reason + ": " + outbox.c.parked_detail)
    )
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("parked_detail")
    op.drop_index(
        op.f("ix_planning_queue_shelves_publication_id"), table_name="planning_queue_shelves"
    )
    op.drop_table("planning_queue_shelves")
    op.drop_table("planning_queue")


def _split_parked_reasons() -> None:
    outbox = sa.table(
        "outbox", sa.column("parked_reason", sa.String), sa.column("parked_detail", sa.String)
    )
    for reason in _DETAILED:
        prefix = f"{reason}: "
        op.execute(
            outbox.update()
            .where(outbox.c.parked_reason.like(f"{prefix}%"))
            .values(
                parked_reason=reason,
                parked_detail=sa.func.substr(outbox.c.parked_reason, len(prefix) + 1),
            )
        )


def _queue_published_publications() -> None:
    """Queue every published publication with the shelves the controller read before:
    its store-channel ledger entries, and every SKU its promotion items reach."""
    bind = op.get_bind()
    publications = sa.table(
        "publications",
        sa.column("id", sa.Integer),
        sa.column("status", sa.String),
        sa.column("effective_at", UtcDateTime()),
        sa.column("published_at", UtcDateTime()),
        sa.column("created_at", UtcDateTime()),
    )
    ledger = sa.table(
        "ledger_entries",
        sa.column("publication_id", sa.Integer),
        sa.column("sku", sa.String),
        sa.column("store", sa.String),
        sa.column("channel", sa.String),
    )
    items = sa.table(
        "publication_items",
        sa.column("publication_id", sa.Integer),
        sa.column("action", sa.String),
        sa.column("payload", sa.JSON),
    )
    targets = sa.table(
        "promotion_targets",
        sa.column("promotion_id", sa.String),
        sa.column("dimension", sa.String),
        sa.column("value", sa.String),
    )
    products = sa.table("products", sa.column("sku", sa.String), sa.column("category", sa.String))
    queue = sa.table(
        "planning_queue",
        sa.column("publication_id", sa.Integer),
        sa.column("effective_at", UtcDateTime()),
        sa.column("queued_at", UtcDateTime()),
    )
    shelves_table = sa.table(
        "planning_queue_shelves",
        sa.column("publication_id", sa.Integer),
        sa.column("sku", sa.String),
        sa.column("store", sa.String),
    )
    published = bind.execute(
        sa.select(
            publications.c.id,
            publications.c.effective_at,
            publications.c.published_at,
            publications.c.created_at,
        ).where(publications.c.status == "published")
    ).all()
    for publication_id, effective_at, published_at, created_at in published:
        queued_at = published_at or created_at
        bind.execute(
            queue.insert().values(
                publication_id=publication_id,
                effective_at=effective_at or queued_at,
                queued_at=queued_at,
            )
        )
        rows: set[tuple[str, str | None]] = set(
            bind.execute(
                sa.select(ledger.c.sku, ledger.c.store)
                .where(ledger.c.publication_id == publication_id, ledger.c.channel == "store")
                .distinct()
            ).all()
        )
        skus: set[str] = set()
        categories: set[str] = set()
        promotion_ids: set[str] = set()
        for (payload,) in bind.execute(
            sa.select(items.c.payload).where(
                items.c.publication_id == publication_id,
                items.c.action.in_(("upsert_promotion", "end_promotion")),
            )
        ):
            payload = _as_dict(payload)
            skus.update(str(sku) for sku in payload.get("skus", ()))
            categories.update(str(category) for category in payload.get("categories", ()))
            if payload.get("promotion_id"):
                promotion_ids.add(str(payload["promotion_id"]))
        if promotion_ids:
            for dimension, value in bind.execute(
                sa.select(targets.c.dimension, targets.c.value).where(
                    targets.c.promotion_id.in_(sorted(promotion_ids)),
                    targets.c.dimension.in_(("sku", "category")),
                )
            ):
                (skus if dimension == "sku" else categories).add(value)
        if categories:
            skus.update(
                bind.scalars(
                    sa.select(products.c.sku).where(products.c.category.in_(sorted(categories)))
                )
            )
        rows.update((sku, None) for sku in skus)
        ordered = sorted(rows, key=lambda row: (row[0], row[1] or ""))
        for start in range(0, len(ordered), _CHUNK):
            bind.execute(
                shelves_table.insert(),
                [
                    {"publication_id": publication_id, "sku": sku, "store": store}
                    for sku, store in ordered[start : start + _CHUNK]
                ],
            )


def _as_dict(payload: Any) -> dict[str, Any]:
    if isinstance(payload, str):
        loaded: dict[str, Any] = json.loads(payload)
        return loaded
    return dict(payload)
