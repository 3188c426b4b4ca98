"""Outbox first_sent_at: how long a frame its gateway reports queued has been waited for.

A store gateway reports WAITING for a frame it is still carrying out (an OEPL tag queued
at its AP's one radio), and the controller waits for its answer instead of sending it
again. That wait is bounded from the update's first send (ESL_RETRY_WAITING_LIMIT_S),
which `sent_at` (the last send) does not keep across a retry or a controller restart.
`first_sent_at` is set at the first send of a round of attempts and cleared when a parked
update is revived. Rows stored before get NULL: their next send sets it.

Revision ID: 0042
Revises: 0041
Create Date: 2026-12-06 06:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from esl.db.types import UtcDateTime

revision = "0042"
down_revision = "0041"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("outbox", sa.Column("first_sent_at", UtcDateTime(), nullable=True))


def downgrade() -> None:
    op.drop_column("outbox", "first_sent_at")
