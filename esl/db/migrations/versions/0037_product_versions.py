"""Product versions: what each product was (category, net content and unit, perishable,
on sale since, its other label facts) from an instant on.

An audit or a quote of a past instant priced every product with its facts as they are
now: after a product moved to another category, or a pack size was put right, the labels
that were right then read as stale, and the wrong ones as a match. From this revision
every product created or changed gets a version valid from then on, and a past instant
takes each product's version valid at it. Existing products get one version valid since
the epoch, as they are now: how they were before is not recorded anywhere, so an instant
before the upgrade is priced with the products as at the upgrade.

Revision ID: 0037
Revises: 0036
Create Date: 2026-12-06 03:00:00
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from esl.db.types import ExactDecimal, UtcDateTime

revision = "0037"
down_revision = "0036"
branch_labels = None
depends_on = None

SINCE_EVER = datetime(1970, 1, 1, tzinfo=UTC)
_FACTS = (
    "name",
    "brand",
    "gtin",
    "category",
    "vat_rate",
    "net_content",
    "net_unit",
    "perishable",
    "on_sale_since",
    "web_url",
    "unit_price_per_100",
)
_products = sa.table(
    "products",
    sa.column("sku", sa.String()),
    *(sa.column(name) for name in _FACTS),
)


def upgrade() -> None:
    versions = op.create_table(
        "product_versions",
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("valid_from", UtcDateTime(), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("brand", sa.String(length=128), nullable=False),
        sa.Column("gtin", sa.String(length=14), nullable=False),
        sa.Column("category", sa.String(length=128), nullable=False),
        sa.Column("vat_rate", ExactDecimal(), nullable=False),
        sa.Column("net_content", ExactDecimal(), nullable=False),
        sa.Column("net_unit", sa.String(length=8), nullable=False),
        sa.Column("perishable", sa.Boolean(), nullable=False),
        sa.Column("on_sale_since", UtcDateTime(), nullable=False),
        sa.Column("web_url", sa.String(length=512), nullable=True),
        sa.Column("unit_price_per_100", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["sku"], ["products.sku"], name=op.f("fk_product_versions_sku_products")
        ),
        sa.PrimaryKeyConstraint("sku", "valid_from", name=op.f("pk_product_versions")),
    )
    assert versions is not None
    op.execute(
        versions.insert().from_select(
            ["sku", "valid_from", *_FACTS],
            sa.select(
                _products.c.sku,
                sa.literal(SINCE_EVER, UtcDateTime()),
                *(_products.c[name] for name in _FACTS),
            ),
        )
    )


def downgrade() -> None:
    op.drop_table("product_versions")
