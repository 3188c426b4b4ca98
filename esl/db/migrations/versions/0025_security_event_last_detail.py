"""Security events: the last coalesced event's sequence and detail beside the first's.

A row standing for an event and its repeats (migration 0023) kept the first event's
`sequence` and `detail` only: an operator saw the first forgery of an interval, never the
latest. `last_sequence` and `last_detail` are those of the event at `last_at`. A row
written before that stands for one event gets its own; one with repeats keeps none (which
repeat came last, and what it said, was not kept).

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-05 06:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("security_events") as batch:
        batch.add_column(sa.Column("last_sequence", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("last_detail", sa.String(256), nullable=True))
    op.execute(
        "UPDATE security_events SET last_sequence = sequence, last_detail = detail "
        "WHERE repeats = 0"
    )


def downgrade() -> None:
    with op.batch_alter_table("security_events") as batch:
        batch.drop_column("last_detail")
        batch.drop_column("last_sequence")
