"""Store versions: what each store was (name, price zone, time zone) from an instant on.

An audit of a past instant priced every store in the zone it is in now: after a store
moved to another zone, each label that was right before the move read as stale there. From
this revision every store created or changed gets a version valid from then on, and the
audit of an instant takes each store's version valid at it. Existing stores get one
version valid since the epoch, as they are now: how they were before is not recorded
anywhere, so an instant before the upgrade is audited with the stores as at the upgrade.

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-05 14:40:00
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from esl.db.types import UtcDateTime

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None

SINCE_EVER = datetime(1970, 1, 1, tzinfo=UTC)

_stores = sa.table(
    "stores",
    sa.column("code", sa.String()),
    sa.column("name", sa.String()),
    sa.column("zone", sa.String()),
    sa.column("time_zone", sa.String()),
)


def upgrade() -> None:
    versions = op.create_table(
        "store_versions",
        sa.Column("store", sa.String(length=32), nullable=False),
        sa.Column("valid_from", UtcDateTime(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("zone", sa.String(length=32), nullable=True),
        sa.Column("time_zone", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["store"], ["stores.code"], name=op.f("fk_store_versions_store_stores")
        ),
        sa.ForeignKeyConstraint(
            ["zone"], ["price_zones.code"], name=op.f("fk_store_versions_zone_price_zones")
        ),
        sa.PrimaryKeyConstraint("store", "valid_from", name=op.f("pk_store_versions")),
    )
    assert versions is not None
    op.execute(
        versions.insert().from_select(
            ["store", "valid_from", "name", "zone", "time_zone"],
            sa.select(
                _stores.c.code,
                sa.literal(SINCE_EVER, UtcDateTime()),
                _stores.c.name,
                _stores.c.zone,
                _stores.c.time_zone,
            ),
        )
    )


def downgrade() -> None:
    op.drop_table("store_versions")
