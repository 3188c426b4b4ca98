"""Label action frames: every sequence number a label action was signed with.

An action the label answered busy is signed again with the label's next number, while
the store gateway keeps the first copy for the label's next check-in (a transient
refusal keeps a frame pending there). `label_actions.sequence` held the last number
only, so the label's answer to the first copy was refused as naming "a sequence the
controller never signed". Actions signed before get their one known number.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-05 06:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

_SERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "label_action_frames",
        sa.Column("id", _SERIAL, autoincrement=True, nullable=False),
        sa.Column("action_id", _SERIAL, nullable=False),
        sa.Column("label_id", sa.String(length=64), nullable=False),
        sa.Column("sequence", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["action_id"],
            ["label_actions.id"],
            name=op.f("fk_label_action_frames_action_id_label_actions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_label_action_frames")),
    )
    op.create_index(
        "ix_label_action_frames_label_sequence", "label_action_frames", ["label_id", "sequence"]
    )
    op.execute(
        "INSERT INTO label_action_frames (action_id, label_id, sequence) "
        "SELECT id, label_id, sequence FROM label_actions WHERE sequence IS NOT NULL"
    )


def downgrade() -> None:
    op.drop_index("ix_label_action_frames_label_sequence", table_name="label_action_frames")
    op.drop_table("label_action_frames")
