"""Products and stores: since when this installation records their prices.

A chain installed without imported price history, a store given an opening before its
creation here, a product loaded with an `on_sale_since` in the past: each sold before
its ledger's first entry at prices the ledger does not hold. Its first month's
reductions were announced against the lowest of the days recorded, a low nobody knew
to be the real 30-day one. `recorded_since` (set when a product or store is created)
tells such a key from one that had no price before its first entry, so no reduction is
announced through it until its entries, or imported history, cover the 30 days
(`pricing.ledger.sold_before_its_ledger`). Rows stored before have none: as far as
anyone knows, all they sold at is recorded.

Revision ID: 0048
Revises: 0047
Create Date: 2026-12-07 22:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from esl.db.types import UtcDateTime

revision = "0048"
down_revision = "0047"
branch_labels = None
depends_on = None

TABLES = ("products", "product_versions", "stores")


def upgrade() -> None:
    for table in TABLES:
        op.add_column(table, sa.Column("recorded_since", UtcDateTime(), nullable=True))


def downgrade() -> None:
    # A plain DROP COLUMN (SQLite 3.35+), as 0035 and 0040: a batch copy of `products`
    # would drop a table other tables' keys name.
    for table in TABLES:
        op.drop_column(table, "recorded_since")
