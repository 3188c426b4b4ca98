"""BLE: ble_label_inventory, what association learned about each BLE label.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 20:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from esl.db.types import UtcDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ble_label_inventory",
        sa.Column("label_id", sa.String(length=64), nullable=False),
        sa.Column("gateway", sa.String(length=64), nullable=False),
        sa.Column("address", sa.String(length=32), nullable=False),
        sa.Column("esl_id", sa.Integer(), nullable=False),
        sa.Column("esl_group", sa.Integer(), nullable=False),
        sa.Column("displays", sa.JSON(), nullable=False),
        sa.Column("image_slots", sa.Integer(), nullable=False),
        sa.Column("leds", sa.JSON(), nullable=False),
        sa.Column("associated_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["label_id"], ["labels.id"], name=op.f("fk_ble_label_inventory_label_id_labels")
        ),
        sa.PrimaryKeyConstraint("label_id", name=op.f("pk_ble_label_inventory")),
        sa.UniqueConstraint(
            "gateway",
            "esl_group",
            "esl_id",
            name="uq_ble_inventory_esl_address",
        ),
    )


def downgrade() -> None:
    op.drop_table("ble_label_inventory")
