"""Console uploads' prices as of: which prices a kept preview was drawn with.

"Publish now" (and "Publish at") publishes the file kept at its preview, byte for byte;
the prices it is applied to may have changed meanwhile (a colleague's store price), and
the labels would then show what nobody previewed. `rule_version_seen` and
`promotion_version_seen` are the newest `price_rule_versions` and `promotion_versions` ids
when the preview ran (every price rule and promotion writer records a version); the
publish refuses when a newer one exists. Rows stored before get NULL: which prices they
were previewed with is not known, and the publish asks for a new preview.

Revision ID: 0044
Revises: 0043
Create Date: 2026-12-09 06:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0044"
down_revision = "0043"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("console_uploads", sa.Column("rule_version_seen", sa.BigInteger(), nullable=True))
    op.add_column(
        "console_uploads", sa.Column("promotion_version_seen", sa.BigInteger(), nullable=True)
    )


def downgrade() -> None:
    with op.batch_alter_table("console_uploads") as batch:
        batch.drop_column("promotion_version_seen")
        batch.drop_column("rule_version_seen")
