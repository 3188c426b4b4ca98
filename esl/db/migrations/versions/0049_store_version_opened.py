"""Store versions keep the store's opening.

An opening moved earlier by `PUT /api/v1/stores/{code}` or the store file kept no record
of the one before, so `esl audit --fail-after` could not tell since when a label's prior
price had been wrong: a label printing "the lowest since the store opened", right until
the move, alerted at once instead of DURATION after the move. Each store version now
holds the opening as it stood from its instant on (`store_versions.opened`), written
with every store created or changed, its opening alone too, and with every opening a
history import moves back. Versions stored before get the store's opening as it is,
what every audit of a past instant read for them so far (an opening moved back by a
history import before is still told by that import's publication).

Revision ID: 0049
Revises: 0048
Create Date: 2026-12-08 02:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from esl.db.types import UtcDateTime

revision = "0049"
down_revision = "0048"
branch_labels = None
depends_on = None

_stores = sa.table("stores", sa.column("code", sa.String()), sa.column("opened", UtcDateTime()))
_versions = sa.table(
    "store_versions", sa.column("store", sa.String()), sa.column("opened", UtcDateTime())
)


def upgrade() -> None:
    op.add_column("store_versions", sa.Column("opened", UtcDateTime(), nullable=True))
    opening = sa.select(_stores.c.opened).where(_stores.c.code == _versions.c.store)
    op.execute(_versions.update().values(opened=opening.scalar_subquery()))


def downgrade() -> None:
    # A plain DROP COLUMN (SQLite 3.35+), as 0048.
    op.drop_column("store_versions", "opened")
