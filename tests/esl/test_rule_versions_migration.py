"""Migration 0041 on an existing database: each price rule and promotion stored before
gets one version, as it is (a promotion with all its targets), recorded since the epoch;
a rule updated in place by a price file after the upgrade is seen as it was before the
change and as it is after; downgrading drops the tables. SQLite always, PostgreSQL when
configured."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from alembic import command
from sqlalchemy import Engine, inspect, select

from esl.db.engine import migrations_config, session_factory, upgrade_database
from esl.db.mapping import price_rule_from_row, product_from_row
from esl.db.models import PriceRuleRow, PriceRuleVersionRow, ProductRow, PromotionVersionRow
from esl.db.repositories import load_promotions
from esl.db.repositories.rules import promotions_as_at, rules_as_at
from esl.imports import import_prices
from esl.services.stores import SINCE_EVER
from tests.support.database import START
from tests.support.pipeline import publish

TABLES = {"price_rule_versions", "promotion_versions"}


def test_rules_and_promotions_from_before_keep_their_past_and_a_change_after_is_dated(
    seeded: Engine,
) -> None:
    sessions = session_factory(seeded)
    publish(
        sessions,
        [
            {"action": "set_price", "sku": "MLK-1", "amount": "3.49"},
            {
                "action": "upsert_promotion",
                "promotion_id": "P-DAIRY",
                "name": "Dairy days",
                "kind": "percent_off",
                "percent": "10",
                "categories": ["dairy"],
                "skus": ["CFE-1"],
                "stores": ["S01", "S02"],
                "channels": ["store"],
            },
            {"action": "set_price", "sku": "CFE-1", "amount": "59.99"},
        ],
        now=START,
    )
    command.downgrade(migrations_config(seeded), "0040")
    assert not TABLES & set(inspect(seeded).get_table_names())

    upgrade_database(seeded)

    with sessions() as session:
        stored = {r.id: price_rule_from_row(r) for r in session.scalars(select(PriceRuleRow))}
        assert set(session.scalars(select(PriceRuleVersionRow.recorded_at))) == {SINCE_EVER}
        assert set(session.scalars(select(PromotionVersionRow.recorded_at))) == {SINCE_EVER}
        products = {r.sku: product_from_row(r) for r in session.scalars(select(ProductRow))}
        rules = rules_as_at(session, products.keys(), SINCE_EVER)
        promotions = promotions_as_at(session, products, SINCE_EVER)
        assert rules.held == stored
        assert promotions.held == load_promotions(session, ["P-DAIRY"])
        assert promotions.held["P-DAIRY"] is not None
        assert promotions.held["P-DAIRY"].stores == {"S01", "S02"}

    changed_at = START + timedelta(days=1)
    since = START.isoformat().replace("+00:00", "Z")
    with sessions.begin() as session:
        import_prices(
            session,
            "sku,scope,channel,store_or_zone,price,currency,valid_from,valid_until\n"
            f"MLK-1,national,,,3.59,PLN,{since},\n",
            currency="PLN",
            imported_by="test",
            now=changed_at,
        )
    with sessions() as session:
        before = rules_as_at(session, ["MLK-1"], changed_at - timedelta(seconds=1)).held
        after = rules_as_at(session, ["MLK-1"], changed_at).held
    assert [r.amount.amount for r in before.values() if r] == [Decimal("3.49")]
    assert [r.amount.amount for r in after.values() if r] == [Decimal("3.59")]

    command.downgrade(migrations_config(seeded), "0040")
    assert not TABLES & set(inspect(seeded).get_table_names())
    upgrade_database(seeded)
