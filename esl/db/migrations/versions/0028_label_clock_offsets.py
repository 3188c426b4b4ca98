"""Label clock offsets: how far a label's clock was off, as its newest answer showed.

A label flips a timed image on its own clock. Every fresh signed answer carries that
clock (`label_time`); one off by more than `ESL_LABEL_CLOCK_TOLERANCE_S` from its arrival
is recorded here (the label's clock minus the controller's, in milliseconds; NULL: right
as far as the controller knows), so the audit and the console see when the label really
flips until its SetClock is answered. Labels start with none known.

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-05 10:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("label_states", sa.Column("clock_offset_ms", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    op.drop_column("label_states", "clock_offset_ms")
