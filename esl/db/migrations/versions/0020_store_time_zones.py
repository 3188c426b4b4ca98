"""Stores: time_zone, the IANA zone a store's labels date in (a promotion's last day).

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-04 19:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing stores keep NULL: the installation's zone (ESL_TIME_ZONE, else the locale's),
    # which is what their labels were dated in.
    op.add_column("stores", sa.Column("time_zone", sa.String(length=64), nullable=True))


def downgrade() -> None:
    # Not a batch copy: other tables' foreign keys point at `stores`.
    op.drop_column("stores", "time_zone")
