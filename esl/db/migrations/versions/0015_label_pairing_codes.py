"""Labels: pairing_code, a BLE label's printed out-of-band pairing code.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04 08:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("labels", sa.Column("pairing_code", sa.String(length=128), nullable=True))


def downgrade() -> None:
    # Not a batch (copy and move) on SQLite: other tables' rows refer to labels'.
    op.drop_column("labels", "pairing_code")
