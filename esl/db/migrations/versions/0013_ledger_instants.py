"""Scheduled instants whose applied prices the ledger has recorded (one row each).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 17:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from esl.db.types import UtcDateTime

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_SERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "ledger_instants",
        sa.Column("publication_id", _SERIAL, nullable=False),
        sa.Column("effective_at", UtcDateTime(), nullable=False),
        sa.Column("recorded_at", UtcDateTime(), nullable=False),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["publication_id"],
            ["publications.id"],
            name=op.f("fk_ledger_instants_publication_id_publications"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("publication_id", name=op.f("pk_ledger_instants")),
    )


def downgrade() -> None:
    op.drop_table("ledger_instants")
