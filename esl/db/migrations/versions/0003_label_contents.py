"""Audit: label_contents, the price behind every rendered content hash.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 20:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from esl.db.types import ExactDecimal, UtcDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "label_contents",
        sa.Column("content_hash", sa.String(length=32), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("store", sa.String(length=32), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("price", ExactDecimal(), nullable=False),
        sa.Column("regular_price", ExactDecimal(), nullable=False),
        sa.Column("prior_price", ExactDecimal(), nullable=True),
        sa.Column("promotion_id", sa.String(length=64), nullable=True),
        sa.Column("promotion_kind", sa.String(length=32), nullable=True),
        sa.Column("price_rule_id", sa.String(length=96), nullable=False),
        sa.Column("price_scope", sa.String(length=16), nullable=False),
        sa.Column("price_fingerprint", sa.String(length=32), nullable=False),
        sa.Column("resolved_at", UtcDateTime(), nullable=False),
        sa.Column("recorded_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("content_hash", name=op.f("pk_label_contents")),
    )


def downgrade() -> None:
    op.drop_table("label_contents")
