"""The web console: sign-in sessions, and label actions (flash, ping, refresh) with answers.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 11:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from esl.db.types import UtcDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_SERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "console_sessions",
        sa.Column("id", _SERIAL, autoincrement=True, nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("api_key_id", _SERIAL, nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.Column("revoked_at", UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["api_key_id"], ["api_keys.id"], name=op.f("fk_console_sessions_api_key_id_api_keys")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_console_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_console_sessions_token_hash")),
    )
    op.create_index("ix_console_sessions_api_key_id", "console_sessions", ["api_key_id"])
    op.create_table(
        "label_actions",
        sa.Column("id", _SERIAL, autoincrement=True, nullable=False),
        sa.Column("label_id", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("sequence", sa.BigInteger(), nullable=True),
        sa.Column("requested_by", sa.String(length=128), nullable=False),
        sa.Column("requested_at", UtcDateTime(), nullable=False),
        sa.Column("sent_at", UtcDateTime(), nullable=True),
        sa.Column("answered_at", UtcDateTime(), nullable=True),
        sa.Column("reason", sa.String(length=32), nullable=True),
        sa.Column("led_on", sa.Boolean(), nullable=True),
        sa.Column("battery_mv", sa.Integer(), nullable=True),
        sa.Column("rssi_dbm", sa.Integer(), nullable=True),
        sa.Column("detail", sa.String(length=256), nullable=True),
        sa.ForeignKeyConstraint(
            ["label_id"], ["labels.id"], name=op.f("fk_label_actions_label_id_labels")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_label_actions")),
    )
    op.create_index("ix_label_actions_status", "label_actions", ["status"])
    op.create_index("ix_label_actions_label_sequence", "label_actions", ["label_id", "sequence"])


def downgrade() -> None:
    op.drop_index("ix_label_actions_label_sequence", table_name="label_actions")
    op.drop_index("ix_label_actions_status", table_name="label_actions")
    op.drop_table("label_actions")
    op.drop_index("ix_console_sessions_api_key_id", table_name="console_sessions")
    op.drop_table("console_sessions")
