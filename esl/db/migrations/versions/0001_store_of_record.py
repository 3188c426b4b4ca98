"""Store of record: catalogue, prices, promotions, ledger, publications, keys, labels.

Revision ID: 0001
Revises:
Create Date: 2026-11-23 18:59:28.453387
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from esl.db.types import ExactDecimal, UtcDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "channels",
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_channels")),
    )
    op.create_table(
        "label_models",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("accent_colour", sa.String(length=16), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_label_models")),
    )
    op.create_table(
        "price_zones",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_price_zones")),
    )
    op.create_table(
        "products",
        sa.Column("sku", sa.String(length=64), nullable=False),
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
        sa.PrimaryKeyConstraint("sku", name=op.f("pk_products")),
    )
    op.create_table(
        "publications",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("title", sa.String(length=256), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("effective_at", UtcDateTime(), nullable=True),
        sa.Column("validated_at", UtcDateTime(), nullable=True),
        sa.Column("published_at", UtcDateTime(), nullable=True),
        sa.Column("published_by", sa.String(length=128), nullable=True),
        sa.Column("problems", sa.JSON(), nullable=False),
        sa.Column("impact", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_publications")),
    )
    with op.batch_alter_table("publications", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_publications_status"), ["status"], unique=False)

    op.create_table(
        "promotions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("percent", ExactDecimal(), nullable=True),
        sa.Column("amount", ExactDecimal(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("quantity", sa.Integer(), nullable=True),
        sa.Column("free_quantity", sa.Integer(), nullable=True),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("exclusive", sa.Boolean(), nullable=False),
        sa.Column("valid_from", UtcDateTime(), nullable=True),
        sa.Column("valid_until", UtcDateTime(), nullable=True),
        sa.Column(
            "publication_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["publication_id"],
            ["publications.id"],
            name=op.f("fk_promotions_publication_id_publications"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_promotions")),
    )
    op.create_table(
        "publication_items",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "publication_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["publication_id"],
            ["publications.id"],
            name=op.f("fk_publication_items_publication_id_publications"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_publication_items")),
        sa.UniqueConstraint("publication_id", "position", name="uq_item_position"),
    )
    with op.batch_alter_table("publication_items", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_publication_items_publication_id"), ["publication_id"], unique=False
        )

    op.create_table(
        "stores",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("zone", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["zone"], ["price_zones.code"], name=op.f("fk_stores_zone_price_zones")
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_stores")),
    )
    with op.batch_alter_table("stores", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_stores_zone"), ["zone"], unique=False)

    op.create_table(
        "api_keys",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("store", sa.String(length=32), nullable=True),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("revoked_at", UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["store"], ["stores.code"], name=op.f("fk_api_keys_store_stores")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
        sa.UniqueConstraint("name", name=op.f("uq_api_keys_name")),
    )
    op.create_table(
        "gateways",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("store", sa.String(length=32), nullable=False),
        sa.Column("transport", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.ForeignKeyConstraint(["store"], ["stores.code"], name=op.f("fk_gateways_store_stores")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gateways")),
    )
    with op.batch_alter_table("gateways", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_gateways_store"), ["store"], unique=False)

    op.create_table(
        "ledger_entries",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("store", sa.String(length=32), nullable=False),
        sa.Column("effective_at", UtcDateTime(), nullable=False),
        sa.Column("amount", ExactDecimal(), nullable=False),
        sa.Column("regular_amount", ExactDecimal(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("promotion_id", sa.String(length=64), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column(
            "publication_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("recorded_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["channel"], ["channels.code"], name=op.f("fk_ledger_entries_channel_channels")
        ),
        sa.ForeignKeyConstraint(
            ["publication_id"],
            ["publications.id"],
            name=op.f("fk_ledger_entries_publication_id_publications"),
        ),
        sa.ForeignKeyConstraint(
            ["sku"], ["products.sku"], name=op.f("fk_ledger_entries_sku_products")
        ),
        sa.ForeignKeyConstraint(
            ["store"], ["stores.code"], name=op.f("fk_ledger_entries_store_stores")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_entries")),
        sa.UniqueConstraint(
            "sku", "channel", "store", "effective_at", name="uq_ledger_key_instant"
        ),
    )
    op.create_table(
        "price_rules",
        sa.Column("id", sa.String(length=96), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("amount", ExactDecimal(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=True),
        sa.Column("zone", sa.String(length=32), nullable=True),
        sa.Column("store", sa.String(length=32), nullable=True),
        sa.Column("valid_from", UtcDateTime(), nullable=True),
        sa.Column("valid_until", UtcDateTime(), nullable=True),
        sa.Column(
            "publication_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["channel"], ["channels.code"], name=op.f("fk_price_rules_channel_channels")
        ),
        sa.ForeignKeyConstraint(
            ["publication_id"],
            ["publications.id"],
            name=op.f("fk_price_rules_publication_id_publications"),
        ),
        sa.ForeignKeyConstraint(
            ["sku"], ["products.sku"], name=op.f("fk_price_rules_sku_products")
        ),
        sa.ForeignKeyConstraint(
            ["store"], ["stores.code"], name=op.f("fk_price_rules_store_stores")
        ),
        sa.ForeignKeyConstraint(
            ["zone"], ["price_zones.code"], name=op.f("fk_price_rules_zone_price_zones")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_price_rules")),
    )
    with op.batch_alter_table("price_rules", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_price_rules_sku"), ["sku"], unique=False)

    op.create_table(
        "promotion_targets",
        sa.Column("promotion_id", sa.String(length=64), nullable=False),
        sa.Column("dimension", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=128), nullable=False),
        sa.ForeignKeyConstraint(
            ["promotion_id"],
            ["promotions.id"],
            name=op.f("fk_promotion_targets_promotion_id_promotions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "promotion_id", "dimension", "value", name=op.f("pk_promotion_targets")
        ),
    )
    with op.batch_alter_table("promotion_targets", schema=None) as batch_op:
        batch_op.create_index("ix_promotion_targets_lookup", ["dimension", "value"], unique=False)

    op.create_table(
        "labels",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("store", sa.String(length=32), nullable=False),
        sa.Column("model", sa.String(length=32), nullable=False),
        sa.Column("gateway", sa.String(length=64), nullable=True),
        sa.Column("secret_key", sa.LargeBinary(length=32), nullable=False),
        sa.Column("registered_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["gateway"], ["gateways.id"], name=op.f("fk_labels_gateway_gateways")
        ),
        sa.ForeignKeyConstraint(
            ["model"], ["label_models.id"], name=op.f("fk_labels_model_label_models")
        ),
        sa.ForeignKeyConstraint(["store"], ["stores.code"], name=op.f("fk_labels_store_stores")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_labels")),
    )
    with op.batch_alter_table("labels", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_labels_store"), ["store"], unique=False)

    op.create_table(
        "label_bindings",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("label_id", sa.String(length=64), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("template", sa.String(length=64), nullable=False),
        sa.Column("bound_at", UtcDateTime(), nullable=False),
        sa.Column("bound_by", sa.String(length=128), nullable=False),
        sa.Column("unbound_at", UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["label_id"], ["labels.id"], name=op.f("fk_label_bindings_label_id_labels")
        ),
        sa.ForeignKeyConstraint(
            ["sku"], ["products.sku"], name=op.f("fk_label_bindings_sku_products")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_label_bindings")),
    )
    with op.batch_alter_table("label_bindings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_label_bindings_label_id"), ["label_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_label_bindings_sku"), ["sku"], unique=False)
        batch_op.create_index(
            "uq_label_bindings_current",
            ["label_id"],
            unique=True,
            sqlite_where=sa.text("unbound_at IS NULL"),
            postgresql_where=sa.text("unbound_at IS NULL"),
        )
    op.bulk_insert(
        sa.table("channels", sa.column("code", sa.String), sa.column("name", sa.String)),
        [
            {"code": "store", "name": "Shelf in the store"},
            {"code": "web", "name": "Web shop"},
            {"code": "app", "name": "Mobile app"},
        ],
    )


def downgrade() -> None:
    with op.batch_alter_table("label_bindings", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_label_bindings_current",
            sqlite_where=sa.text("unbound_at IS NULL"),
            postgresql_where=sa.text("unbound_at IS NULL"),
        )
        batch_op.drop_index(batch_op.f("ix_label_bindings_sku"))
        batch_op.drop_index(batch_op.f("ix_label_bindings_label_id"))

    op.drop_table("label_bindings")
    with op.batch_alter_table("labels", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_labels_store"))

    op.drop_table("labels")
    with op.batch_alter_table("promotion_targets", schema=None) as batch_op:
        batch_op.drop_index("ix_promotion_targets_lookup")

    op.drop_table("promotion_targets")
    with op.batch_alter_table("price_rules", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_price_rules_sku"))

    op.drop_table("price_rules")
    op.drop_table("ledger_entries")
    with op.batch_alter_table("gateways", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gateways_store"))

    op.drop_table("gateways")
    op.drop_table("api_keys")
    with op.batch_alter_table("stores", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stores_zone"))

    op.drop_table("stores")
    with op.batch_alter_table("publication_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_publication_items_publication_id"))

    op.drop_table("publication_items")
    op.drop_table("promotions")
    with op.batch_alter_table("publications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_publications_status"))

    op.drop_table("publications")
    op.drop_table("products")
    op.drop_table("price_zones")
    op.drop_table("label_models")
    op.drop_table("channels")
