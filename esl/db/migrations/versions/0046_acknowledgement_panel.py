"""What the record made of each kept word of a label: `label_acknowledgements.panel`
(`esl.delivery_states.RecordedPanel`: the panel it reports, the one taken before it, or
unknown) and `heard` (its health taken: the label heard then, `label_states.last_seen`).

The past audit read a label's panel at an instant from the last kept word naming an
image, whether or not the pipeline took it as the panel: a check-in older than a claim
held (a label reset to factory, restored from a backup), or an acknowledgement relayed
behind the check-in after it, was read as the panel the live audit had not taken, and a
word that made the record forget what the label shows was not kept at all. Rows kept
before get NULL in both: read as before (a row naming an image is the panel then, every
row is the label heard then).

Revision ID: 0046
Revises: 0045
Create Date: 2026-12-07 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0046"
down_revision = "0045"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("label_acknowledgements", sa.Column("panel", sa.String(16), nullable=True))
    op.add_column("label_acknowledgements", sa.Column("heard", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("label_acknowledgements") as batch:
        batch.drop_column("heard")
        batch.drop_column("panel")
