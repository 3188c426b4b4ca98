"""Outbox: parked_at, when a frame was parked (a past audit must not see a later parking).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04 14:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from esl.db.types import UtcDateTime

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Rows parked before this revision keep NULL: when is not known, and the audit then
    # reads them as parked at any instant, as it did.
    op.add_column("outbox", sa.Column("parked_at", UtcDateTime(), nullable=True))


def downgrade() -> None:
    op.drop_column("outbox", "parked_at")
