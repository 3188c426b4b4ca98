"""Label unplanned reason: why the controller could not plan a label's due content.

A label whose content due now could not be worked out or drawn (no price, a template of
another size, an announcement its template cannot draw lawfully, a render that failed)
kept its state as it was, so health called it `up_to_date` while it showed an old price.
The reason is now recorded on its state until it is planned again; health and the audit
report it. Nothing to backfill: the next pass records it for every such label.

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-05 18:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("label_states", sa.Column("unplanned_reason", sa.String(500), nullable=True))


def downgrade() -> None:
    op.drop_column("label_states", "unplanned_reason")
