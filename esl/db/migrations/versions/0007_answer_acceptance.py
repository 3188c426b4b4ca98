"""Answers that cannot be replayed: the newest claim per label, and security events.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from esl.db.types import UtcDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_SERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("label_states") as batch:
        batch.add_column(
            sa.Column("claim_sequence", sa.BigInteger(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("claim_label_time", UtcDateTime(), nullable=True))
    op.create_table(
        "security_events",
        sa.Column("id", _SERIAL, autoincrement=True, nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("store", sa.String(length=64), nullable=True),
        sa.Column("gateway", sa.String(length=64), nullable=True),
        sa.Column("label_id", sa.String(length=64), nullable=True),
        sa.Column("sequence", sa.BigInteger(), nullable=True),
        sa.Column("detail", sa.String(length=256), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_security_events")),
    )
    op.create_index("ix_security_events_at", "security_events", ["at"])


def downgrade() -> None:
    op.drop_index("ix_security_events_at", table_name="security_events")
    op.drop_table("security_events")
    with op.batch_alter_table("label_states") as batch:
        batch.drop_column("claim_label_time")
        batch.drop_column("claim_sequence")
