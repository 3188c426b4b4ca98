"""Label actions: step_at, when a refresh's second step (Refresh Display) began.

A refresh waits for a label busy with an update (`ESL_LABEL_ACTION_WAIT_LIMIT_S`) from
its current step: once its image was confirmed, not from its request, since the image
may go out long after the request (its answer timeout counts from that send). Rows
written before have none: their wait counts from their request, as it did.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-05 03:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from esl.db.types import UtcDateTime

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("label_actions", sa.Column("step_at", UtcDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("label_actions") as batch:
        batch.drop_column("step_at")
