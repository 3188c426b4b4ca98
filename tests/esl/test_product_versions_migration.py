"""Migration 0037 on an existing database: each product stored before gets one version,
as it is, valid since the epoch; a product changed after the upgrade (by a product file or
PUT /api/v1/products) is seen as it was before the change and as it is after; downgrading
drops the table. SQLite always, PostgreSQL when configured."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from alembic import command
from sqlalchemy import Engine, inspect, select

from esl.db.engine import migrations_config, session_factory, upgrade_database
from esl.db.models import ProductRow, ProductVersionRow
from esl.db.repositories import products_as_at
from esl.imports import import_products
from esl.services.stores import SINCE_EVER
from tests.support.database import START


def test_products_from_before_keep_their_past_and_a_change_after_is_dated(
    seeded: Engine,
) -> None:
    command.downgrade(migrations_config(seeded), "0036")
    assert "product_versions" not in inspect(seeded).get_table_names()

    upgrade_database(seeded)

    with session_factory(seeded)() as session:
        stored = {row.sku: row.net_content for row in session.scalars(select(ProductRow))}
        versions = {
            sku: (valid_from, net_content)
            for sku, valid_from, net_content in session.execute(
                select(
                    ProductVersionRow.sku,
                    ProductVersionRow.valid_from,
                    ProductVersionRow.net_content,
                )
            )
        }
    assert stored
    assert versions == {sku: (SINCE_EVER, content) for sku, content in stored.items()}

    sku = sorted(stored)[0]
    changed_at = START + timedelta(days=1)
    with session_factory(seeded).begin() as session:
        row = session.get(ProductRow, sku)
        assert row is not None
        line = ",".join(
            [
                sku,
                row.name,
                row.brand,
                row.gtin,
                "moved",
                str(row.vat_rate),
                str(row.net_content * 2),
                row.net_unit,
                "yes" if row.perishable else "no",
                row.on_sale_since.isoformat(),
                row.web_url or "",
            ]
        )
        import_products(
            session,
            "sku,name,brand,gtin,category,vat_rate,net_content,net_unit,perishable,"
            "on_sale_since,web_url\n" + line + "\n",
            currency="PLN",
            imported_by="test",
            now=changed_at,
        )
    with session_factory(seeded)() as session:
        before = products_as_at(
            session, changed_at - timedelta(seconds=1), now=changed_at + timedelta(hours=1)
        )[sku]
        after = products_as_at(session, changed_at, now=changed_at + timedelta(hours=1))[sku]
    assert (before.category, before.net_content) != ("moved", stored[sku] * 2)
    assert (after.category, after.net_content) == ("moved", stored[sku] * 2)
    assert isinstance(after.net_content, Decimal)

    command.downgrade(migrations_config(seeded), "0036")
    assert "product_versions" not in inspect(seeded).get_table_names()
    upgrade_database(seeded)
