"""Battery and signal over time: sampled label health reports.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 14:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from esl.db.types import UtcDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_SERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "label_vitals",
        sa.Column("id", _SERIAL, autoincrement=True, nullable=False),
        sa.Column("label_id", sa.String(length=64), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("battery_mv", sa.Integer(), nullable=False),
        sa.Column("rssi_dbm", sa.Integer(), nullable=False),
        sa.Column("lqi", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["label_id"], ["labels.id"], name=op.f("fk_label_vitals_label_id_labels")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_label_vitals")),
    )
    op.create_index("ix_label_vitals_label_at", "label_vitals", ["label_id", "at"])


def downgrade() -> None:
    op.drop_index("ix_label_vitals_label_at", table_name="label_vitals")
    op.drop_table("label_vitals")
