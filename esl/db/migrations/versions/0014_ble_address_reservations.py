"""BLE: ble_address_reservations, the ESL addresses association kits gave out.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 01:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from esl.db.types import UtcDateTime

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ble_address_reservations",
        sa.Column("gateway", sa.String(length=64), nullable=False),
        sa.Column("esl_group", sa.Integer(), nullable=False),
        sa.Column("esl_id", sa.Integer(), nullable=False),
        sa.Column("label_id", sa.String(length=64), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["label_id"], ["labels.id"], name=op.f("fk_ble_address_reservations_label_id_labels")
        ),
        sa.PrimaryKeyConstraint(
            "gateway", "esl_group", "esl_id", name=op.f("pk_ble_address_reservations")
        ),
    )
    op.create_index(
        op.f("ix_ble_address_reservations_label_id"),
        "ble_address_reservations",
        ["label_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_ble_address_reservations_label_id"), table_name="ble_address_reservations"
    )
    op.drop_table("ble_address_reservations")
