"""Label actions: after_outbox_id, the label's last outbox row when a refresh was taken up.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("label_actions", sa.Column("after_outbox_id", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    op.drop_column("label_actions", "after_outbox_id")
