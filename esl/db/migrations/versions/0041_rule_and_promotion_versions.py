"""Price rule and promotion versions: what the record held of each rule and promotion
from the instant it was written on.

An audit or a quote of a past instant priced it with today's rules and promotions: after
a price file updated a rule in place (same identity, another price), or wrote one claiming
a start already passed, or a promotion file replaced a promotion, the labels that were
right then read as stale, the wrong ones as a match, and the quote answered a price the
shelf never charged. From this revision every rule and promotion created, changed or
deleted gets a version recorded then, and a past instant takes each one's version recorded
by it. Existing rules and promotions get one version recorded since the epoch, as they are
now: how they were before is not recorded anywhere (`price_rules.publication_id` names
only the last writer, not what the rule was before it), so an instant before the upgrade
is priced with them as at the upgrade, as it was before this revision.

Revision ID: 0041
Revises: 0040
Create Date: 2026-12-06 05:40:00
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

from esl.db.types import ExactDecimal, UtcDateTime

revision = "0041"
down_revision = "0040"
branch_labels = None
depends_on = None

SINCE_EVER = datetime(1970, 1, 1, tzinfo=UTC)
_RULE_FACTS = ("sku", "amount", "currency", "channel", "zone", "store", "valid_from", "valid_until")
_PROMOTION_FACTS = (
    "name",
    "kind",
    "percent",
    "amount",
    "currency",
    "quantity",
    "free_quantity",
    "priority",
    "exclusive",
    "valid_from",
    "valid_until",
)
# The same order as esl.db.mapping.promotion_target_values writes them.
_DIMENSIONS = ("sku", "category", "channel", "zone", "store")
_rules = sa.table("price_rules", sa.column("id", sa.String()), *map(sa.column, _RULE_FACTS))
# Typed: the promotions are read into Python and written back (their targets gathered).
_TYPES: dict[str, Any] = {
    "percent": ExactDecimal(),
    "amount": ExactDecimal(),
    "quantity": sa.Integer(),
    "free_quantity": sa.Integer(),
    "priority": sa.Integer(),
    "exclusive": sa.Boolean(),
    "valid_from": UtcDateTime(),
    "valid_until": UtcDateTime(),
}
_promotions = sa.table(
    "promotions",
    sa.column("id", sa.String()),
    *(sa.column(name, _TYPES.get(name, sa.String())) for name in _PROMOTION_FACTS),
)
_targets = sa.table(
    "promotion_targets",
    sa.column("promotion_id", sa.String()),
    sa.column("dimension", sa.String()),
    sa.column("value", sa.String()),
)


def upgrade() -> None:
    serial = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    rules = op.create_table(
        "price_rule_versions",
        sa.Column("id", serial, autoincrement=True, nullable=False),
        sa.Column("rule_id", sa.String(length=96), nullable=False),
        sa.Column("recorded_at", UtcDateTime(), nullable=False),
        sa.Column("removed", sa.Boolean(), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("amount", ExactDecimal(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=True),
        sa.Column("zone", sa.String(length=32), nullable=True),
        sa.Column("store", sa.String(length=32), nullable=True),
        sa.Column("valid_from", UtcDateTime(), nullable=True),
        sa.Column("valid_until", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_price_rule_versions")),
    )
    op.create_index(
        "ix_price_rule_versions_sku_recorded_at",
        "price_rule_versions",
        ["sku", "recorded_at"],
        unique=False,
    )
    op.create_index(
        "ix_price_rule_versions_recorded_at", "price_rule_versions", ["recorded_at"], unique=False
    )
    promotions = op.create_table(
        "promotion_versions",
        sa.Column("id", serial, autoincrement=True, nullable=False),
        sa.Column("promotion_id", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", UtcDateTime(), nullable=False),
        sa.Column("removed", sa.Boolean(), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=True),
        sa.Column("percent", ExactDecimal(), nullable=True),
        sa.Column("amount", ExactDecimal(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("quantity", sa.Integer(), nullable=True),
        sa.Column("free_quantity", sa.Integer(), nullable=True),
        sa.Column("priority", sa.Integer(), nullable=True),
        sa.Column("exclusive", sa.Boolean(), nullable=True),
        sa.Column("valid_from", UtcDateTime(), nullable=True),
        sa.Column("valid_until", UtcDateTime(), nullable=True),
        sa.Column("targets", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_promotion_versions")),
    )
    op.create_index(
        op.f("ix_promotion_versions_recorded_at"),
        "promotion_versions",
        ["recorded_at"],
        unique=False,
    )
    assert rules is not None
    assert promotions is not None
    op.execute(
        rules.insert().from_select(
            ["rule_id", "recorded_at", "removed", *_RULE_FACTS],
            sa.select(
                _rules.c.id,
                sa.literal(SINCE_EVER, UtcDateTime()),
                sa.false(),
                *(_rules.c[name] for name in _RULE_FACTS),
            ),
        )
    )
    bind = op.get_bind()
    targets: dict[str, list[list[str]]] = defaultdict(list)
    for promotion_id, dimension, value in bind.execute(
        sa.select(_targets.c.promotion_id, _targets.c.dimension, _targets.c.value)
    ):
        targets[promotion_id].append([dimension, value])
    rows: list[dict[str, Any]] = []
    for row in bind.execute(sa.select(_promotions)):
        values = dict(row._mapping)
        rows.append(
            {name: values[name] for name in _PROMOTION_FACTS}
            | {
                "promotion_id": values["id"],
                "recorded_at": SINCE_EVER,
                "removed": False,
                "targets": sorted(
                    targets[values["id"]],
                    key=lambda t: (_DIMENSIONS.index(t[0]), t[1]),
                ),
            }
        )
    if rows:
        op.bulk_insert(promotions, rows)


def downgrade() -> None:
    op.drop_index(op.f("ix_promotion_versions_recorded_at"), table_name="promotion_versions")
    op.drop_table("promotion_versions")
    op.drop_index("ix_price_rule_versions_recorded_at", table_name="price_rule_versions")
    op.drop_index("ix_price_rule_versions_sku_recorded_at", table_name="price_rule_versions")
    op.drop_table("price_rule_versions")
