"""Worker clock offsets: how far each worker's host clock is from the database's.

Lease heartbeats were written and compared with each worker's own clock, so a host a few
seconds ahead took the stores of live workers. Leases now use the database's clock
(esl/pipeline/database_clock.py), and each balance records its host's offset here (the
host's clock minus the database's, in milliseconds; NULL: not measured yet), so
`esl workers` names a host whose NTP needs fixing: label flips and ledger instants still
use the host's clock.

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-05 17:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "controller_workers", sa.Column("clock_offset_ms", sa.BigInteger(), nullable=True)
    )


def downgrade() -> None:
    op.drop_column("controller_workers", "clock_offset_ms")
