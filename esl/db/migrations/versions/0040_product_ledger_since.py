"""Product ledger_since: a SKU re-used for another product.

A SKU re-used for another product (a new GTIN, put on sale later) carried the ledger of
the product it named before: the new product's introductory price was announced as a
reduction against the old one's prices, and its on_sale_since could not be moved to the
re-use, the ledger showing the SKU sold. `ledger_since` (in `products` and, as it was, in
`product_versions`) is the instant from which the SKU's ledger is this product's; the
prior price ignores the entries before it. Existing products get NULL: all of their
SKU's ledger is theirs, as before.

Revision ID: 0040
Revises: 0039
Create Date: 2026-12-06 05:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from esl.db.types import UtcDateTime

revision = "0040"
down_revision = "0039"
branch_labels = None
depends_on = None

_TABLES = ("products", "product_versions")


def upgrade() -> None:
    for table in _TABLES:
        op.add_column(table, sa.Column("ledger_since", UtcDateTime(), nullable=True))


def downgrade() -> None:
    for table in _TABLES:
        op.drop_column(table, "ledger_since")
