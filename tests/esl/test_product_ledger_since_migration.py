"""Migration 0040 on an existing database: products and their versions get
`ledger_since`, NULL for every product stored then (all of its SKU's ledger is its own, as
before), and a downgrade takes the columns away. SQLite always, PostgreSQL when
configured."""

from __future__ import annotations

from alembic import command
from sqlalchemy import Engine, inspect, select

from esl.db.engine import migrations_config, session_factory, upgrade_database
from esl.db.models import ProductRow, ProductVersionRow

_TABLES = ("products", "product_versions")


def _has_column(engine: Engine, table: str) -> bool:
    return "ledger_since" in {c["name"] for c in inspect(engine).get_columns(table)}


def test_products_stored_before_keep_their_whole_ledger(seeded: Engine) -> None:
    command.downgrade(migrations_config(seeded), "0039")
    assert not any(_has_column(seeded, table) for table in _TABLES)

    upgrade_database(seeded)

    assert all(_has_column(seeded, table) for table in _TABLES)
    with session_factory(seeded)() as session:
        products = session.execute(select(ProductRow.sku, ProductRow.ledger_since)).all()
        versions = session.scalars(select(ProductVersionRow.ledger_since)).all()
    assert products
    assert all(since is None for _, since in products)
    assert versions
    assert all(since is None for since in versions)
