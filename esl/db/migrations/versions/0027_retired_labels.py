"""Retired labels: a label broken or thrown away is marked retired, by whom and when.

A label unbound while out of reach keeps the price it last showed on its panel, which
the audit lists (`unbound_showing_price`) until its identification screen is answered:
for a label that will never answer again, for ever. Retiring it says it is gone: the
audit, health, keep-alive pings and identification screens leave it out; its history
(frames, answers, actions, bindings) stays. Labels registered before are not retired.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-05 06:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from esl.db.types import UtcDateTime

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("labels", sa.Column("retired_at", UtcDateTime(), nullable=True))
    op.add_column("labels", sa.Column("retired_by", sa.String(length=128), nullable=True))


def downgrade() -> None:
    op.drop_column("labels", "retired_by")
    op.drop_column("labels", "retired_at")
