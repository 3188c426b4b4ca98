"""Workers sharing stores on PostgreSQL: the workers, their store leases, planning by store.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 14:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from esl.db.types import UtcDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_SERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "controller_workers",
        sa.Column("holder", sa.String(length=64), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("mqtt_client_id", sa.String(length=128), nullable=False),
        sa.Column("started_at", UtcDateTime(), nullable=False),
        sa.Column("heartbeat_at", UtcDateTime(), nullable=False),
        sa.Column("acknowledged", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("holder", name=op.f("pk_controller_workers")),
    )
    op.create_table(
        "store_leases",
        sa.Column("store", sa.String(length=32), nullable=False),
        sa.Column("holder", sa.String(length=64), nullable=True),
        sa.Column("taken_at", UtcDateTime(), nullable=True),
        sa.Column("heartbeat_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("store", name=op.f("pk_store_leases")),
    )
    op.create_index("ix_store_leases_holder", "store_leases", ["holder"])
    op.create_table(
        "planned_publication_stores",
        sa.Column("publication_id", _SERIAL, nullable=False),
        sa.Column("store", sa.String(length=32), nullable=False),
        sa.Column("planned_at", UtcDateTime(), nullable=False),
        sa.Column("labels", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["publication_id"],
            ["publications.id"],
            name=op.f("fk_planned_publication_stores_publication_id_publications"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "publication_id", "store", name=op.f("pk_planned_publication_stores")
        ),
    )
    # What a single controller planned before counts as planned for every store: workers
    # started on an existing database do not plan old publications again.
    op.execute(
        "INSERT INTO planned_publication_stores (publication_id, store, planned_at, labels) "
        "SELECT p.publication_id, s.code, p.planned_at, 0 "
        "FROM planned_publications p CROSS JOIN stores s"
    )


def downgrade() -> None:
    op.drop_table("planned_publication_stores")
    op.drop_index("ix_store_leases_holder", table_name="store_leases")
    op.drop_table("store_leases")
    op.drop_table("controller_workers")
