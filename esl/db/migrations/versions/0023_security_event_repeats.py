"""Security events coalesced: `repeats` and `last_at`, so a flood writes bounded rows.

One row now stands for an event and its repeats of the same store, label and kind within
an interval (`esl.pipeline.security_events.SecurityEventCoalescing`): `repeats` how many
more came, `last_at` when the last did. Rows written before stand for one event each
(`repeats` 0, `last_at` their `at`). The index serves the look for a row still open.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-05 01:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from esl.db.types import UtcDateTime

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("security_events") as batch:
        batch.add_column(sa.Column("repeats", sa.BigInteger(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("last_at", UtcDateTime(), nullable=True))
    op.execute("UPDATE security_events SET last_at = at")
    op.create_index(
        "ix_security_events_key", "security_events", ["kind", "store", "label_id", "at"]
    )


def downgrade() -> None:
    op.drop_index("ix_security_events_key", table_name="security_events")
    with op.batch_alter_table("security_events") as batch:
        batch.drop_column("last_at")
        batch.drop_column("repeats")
