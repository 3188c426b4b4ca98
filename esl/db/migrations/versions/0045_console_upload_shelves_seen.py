"""Console uploads' shelves seen: what a kept preview showed the file doing to the labels.

The newest price rule and promotion versions a preview was drawn with (0044) tell another
writer of rules and promotions, not a store moved to another zone, a product moved to
another category or a history file imported between preview and publish, each of which
may change what the file puts on a shelf. `shelves_seen` is, per store, a digest of the
label contents the file makes due there in the preview (`esl.ui.console_uploads`); the
publish computes it again and refuses the file when a store's differs. Rows stored before
get NULL: what their preview showed is not known, and the publish asks for a new preview.

Revision ID: 0045
Revises: 0044
Create Date: 2026-12-06 19:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0045"
down_revision = "0044"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("console_uploads", sa.Column("shelves_seen", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("console_uploads") as batch:
        batch.drop_column("shelves_seen")
