"""Migration 0048 on an existing database: products, their versions and stores get
`recorded_since`, NULL for every row stored then (all they sold at is taken as
recorded, as before: their reductions are announced as they were), a product or store
created after it is recorded from its creation, and a downgrade takes the columns away.
SQLite always, PostgreSQL when configured."""

from __future__ import annotations

from datetime import timedelta

from alembic import command
from sqlalchemy import Engine, inspect, select, update

from esl.db.engine import migrations_config, session_factory, upgrade_database
from esl.db.models import ProductRow, ProductVersionRow, StoreRow
from esl.imports import import_products
from esl.services.stores import save_stores
from pricing.products import Store
from tests.support.database import START

_TABLES = ("products", "product_versions", "stores")
NEW_PRODUCT = (
    "sku,name,brand,gtin,category,vat_rate,net_content,net_unit,perishable,on_sale_since\n"
    "NEW-1,Ser nowy,,,cheese,5,0.5,kg,no,2025-01-01T00:00:00Z\n"
)


def _has_column(engine: Engine, table: str) -> bool:
    return "recorded_since" in {c["name"] for c in inspect(engine).get_columns(table)}


def test_rows_stored_before_are_taken_as_recorded_and_new_ones_from_their_creation(
    seeded: Engine,
) -> None:
    with session_factory(seeded)() as session, session.begin():
        # The seed leaves its products recorded all along; give them a value the
        # downgrade must take away with the column.
        session.execute(update(ProductRow).values(recorded_since=START))
    command.downgrade(migrations_config(seeded), "0047")
    assert not any(_has_column(seeded, table) for table in _TABLES)

    upgrade_database(seeded)

    assert all(_has_column(seeded, table) for table in _TABLES)
    sessions = session_factory(seeded)
    with sessions() as session:
        for column in (
            ProductRow.recorded_since,
            ProductVersionRow.recorded_since,
            StoreRow.recorded_since,
        ):
            values = session.scalars(select(column)).all()
            assert values
            assert all(value is None for value in values)
    created = START + timedelta(days=3)
    with sessions.begin() as session:
        import_products(session, NEW_PRODUCT, currency="PLN", imported_by="test", now=created)
        save_stores(
            session,
            [Store(code="S09", name="Sopot")],
            title="store S09",
            kind="catalogue",
            by="test",
            now=created,
            currency="PLN",
        )
    with sessions() as session:
        assert session.get(ProductRow, "NEW-1").recorded_since == created  # type: ignore[union-attr]
        assert session.get(StoreRow, "S09").recorded_since == created  # type: ignore[union-attr]
        assert session.get(StoreRow, "S01").recorded_since is None  # type: ignore[union-attr]
