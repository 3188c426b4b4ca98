"""Label held flips: the timed image a label acknowledged holding, and its instant.

What a label holds is a fact of the label, not of the plan: once a newer plan replaces a
flip (a promotion withdrawn or moved before its start), the plan no longer names it, yet
a label out of reach still holds it and flips to it on its own clock. Kept from the
acknowledgement of the timed frame until a later believed answer shows the label no
longer holds it (`esl.pipeline.held_flips`). Backfilled from the plan: a label whose
acknowledged image is its planned timed image holds it.

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-05 17:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from esl.db.types import UtcDateTime

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("label_states", sa.Column("held_hash", sa.String(32), nullable=True))
    op.add_column("label_states", sa.Column("held_display_at", UtcDateTime(), nullable=True))
    states = sa.table(
        "label_states",
        sa.column("confirmed_hash", sa.String(32)),
        sa.column("desired_hash", sa.String(32)),
        sa.column("desired_display_at", UtcDateTime()),
        sa.column("held_hash", sa.String(32)),
        sa.column("held_display_at", UtcDateTime()),
    )
    op.execute(
        states.update()
        .where(
            states.c.desired_display_at.is_not(None),
            states.c.confirmed_hash.is_not(None),
            states.c.confirmed_hash == states.c.desired_hash,
        )
        .values(held_hash=states.c.confirmed_hash, held_display_at=states.c.desired_display_at)
    )


def downgrade() -> None:
    op.drop_column("label_states", "held_display_at")
    op.drop_column("label_states", "held_hash")
