"""Update pipeline: label states, rendered contents, outbox, acknowledgements, gateways.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 20:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from esl.db.types import UtcDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_SERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "rendered_contents",
        sa.Column("content_hash", sa.String(length=32), nullable=False),
        sa.Column("model", sa.String(length=32), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("black", sa.LargeBinary(), nullable=False),
        sa.Column("accent", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("content_hash", name=op.f("pk_rendered_contents")),
    )
    op.create_table(
        "label_states",
        sa.Column("label_id", sa.String(length=64), nullable=False),
        sa.Column("last_sequence", sa.BigInteger(), nullable=False),
        sa.Column("binding_id", sa.Integer(), nullable=True),
        sa.Column("desired_key", sa.String(length=160), nullable=True),
        sa.Column("desired_hash", sa.String(length=32), nullable=True),
        sa.Column("desired_display_at", UtcDateTime(), nullable=True),
        sa.Column("confirmed_hash", sa.String(length=32), nullable=True),
        sa.Column("displayed_hash", sa.String(length=32), nullable=True),
        sa.Column("can_schedule", sa.Boolean(), nullable=False),
        sa.Column("battery_mv", sa.Integer(), nullable=True),
        sa.Column("rssi_dbm", sa.Integer(), nullable=True),
        sa.Column("temperature_tenths_c", sa.Integer(), nullable=True),
        sa.Column("firmware", sa.String(length=16), nullable=True),
        sa.Column("state", sa.Integer(), nullable=True),
        sa.Column("last_seen", UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["label_id"], ["labels.id"], name=op.f("fk_label_states_label_id_labels")
        ),
        sa.PrimaryKeyConstraint("label_id", name=op.f("pk_label_states")),
    )
    op.create_table(
        "outbox",
        sa.Column("id", _SERIAL, autoincrement=True, nullable=False),
        sa.Column("label_id", sa.String(length=64), nullable=False),
        sa.Column("store", sa.String(length=64), nullable=False),
        sa.Column("gateway", sa.String(length=64), nullable=False),
        sa.Column("sequence", sa.BigInteger(), nullable=False),
        sa.Column("content_hash", sa.String(length=32), nullable=False),
        sa.Column("base_hash", sa.String(length=32), nullable=True),
        sa.Column("display_at", UtcDateTime(), nullable=True),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("not_before", UtcDateTime(), nullable=False),
        sa.Column("sent_at", UtcDateTime(), nullable=True),
        sa.Column("parked_reason", sa.String(length=64), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("settled_at", UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["label_id"], ["labels.id"], name=op.f("fk_outbox_label_id_labels")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
    )
    op.create_index(op.f("ix_outbox_label_id"), "outbox", ["label_id"], unique=False)
    op.create_index("ix_outbox_open", "outbox", ["status", "gateway", "not_before"], unique=False)
    op.create_table(
        "label_acknowledgements",
        sa.Column("id", _SERIAL, autoincrement=True, nullable=False),
        sa.Column("label_id", sa.String(length=64), nullable=False),
        sa.Column("sequence", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("displayed_hash", sa.String(length=32), nullable=True),
        sa.Column("acked_hash", sa.String(length=32), nullable=True),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["label_id"], ["labels.id"], name=op.f("fk_label_acknowledgements_label_id_labels")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_label_acknowledgements")),
    )
    op.create_index(
        "ix_label_acknowledgements_label_at",
        "label_acknowledgements",
        ["label_id", "at"],
        unique=False,
    )
    op.create_table(
        "gateway_states",
        sa.Column("store", sa.String(length=64), nullable=False),
        sa.Column("gateway", sa.String(length=64), nullable=False),
        sa.Column("online", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.String(length=128), nullable=True),
        sa.Column("changed_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("store", "gateway", name=op.f("pk_gateway_states")),
    )
    op.create_table(
        "planned_publications",
        sa.Column("publication_id", _SERIAL, nullable=False),
        sa.Column("planned_at", UtcDateTime(), nullable=False),
        sa.Column("labels", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["publication_id"],
            ["publications.id"],
            name=op.f("fk_planned_publications_publication_id_publications"),
        ),
        sa.PrimaryKeyConstraint("publication_id", name=op.f("pk_planned_publications")),
    )


def downgrade() -> None:
    op.drop_table("planned_publications")
    op.drop_table("gateway_states")
    op.drop_index("ix_label_acknowledgements_label_at", table_name="label_acknowledgements")
    op.drop_table("label_acknowledgements")
    op.drop_index("ix_outbox_open", table_name="outbox")
    op.drop_index(op.f("ix_outbox_label_id"), table_name="outbox")
    op.drop_table("outbox")
    op.drop_table("label_states")
    op.drop_table("rendered_contents")
