"""Put the bundled sample catalogue into a database, as a retailer's first import would.

The demo and the tests that need a realistic store of record start here. Rows are
written with the same mappers and bulk writers the CSV importers use, so a seeded
database is indistinguishable from an imported one: rule ids follow `price_rule_id`, the
applied-price history becomes ledger entries (source `history`), and re-seeding an
already seeded database is refused rather than duplicated.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from esl.db.bulk import insert_rows
from esl.db.mapping import price_rule_values, product_values
from esl.db.models import PriceRuleRow, ProductRow, StoreRow, ZoneRow, core_table
from esl.errors import ConflictError
from esl.imports.prices import price_rule_id
from esl.imports.promotions import write_promotions
from esl.sample import SampleCatalogue
from esl.services.ledger_recording import write_ledger_entries
from esl.services.products import record_product_versions
from esl.services.rule_versions import record_rule_versions
from esl.services.stores import SINCE_EVER, record_store_versions
from pricing.products import Store

__all__ = ["SeedSummary", "seed_sample_catalogue"]


@dataclass(frozen=True, slots=True)
class SeedSummary:
    stores: int
    products: int
    rules: int
    promotions: int
    ledger_entries: int


def seed_sample_catalogue(
    session: Session, sample: SampleCatalogue, *, now: datetime
) -> SeedSummary:
    """Write zones, stores, products, rules, promotions and price history; the caller commits."""
    if session.scalar(select(func.count()).select_from(ProductRow)):
        raise ConflictError(
            "the database already holds products; seed an empty one", field="products"
        )
    catalogue = sample.catalogue
    for zone in sorted(catalogue.zones):
        session.add(ZoneRow(code=zone, name=zone))
    session.flush()
    # The sample's price history has these stores as they are, all along: open since
    # ever, so their reductions are captioned with the 30-day low.
    stores = [
        Store(code=s.code, name=s.name, zone=s.zone, opened=SINCE_EVER)
        for s in catalogue.stores.values()
    ]
    for store in stores:
        session.add(
            StoreRow(code=store.code, name=store.name, zone=store.zone, opened=store.opened)
        )
    session.flush()
    record_store_versions(session, stores, valid_from=SINCE_EVER)
    products = [product_values(p) for p in catalogue.products.values()]
    insert_rows(session, core_table(ProductRow), products)
    # The sample's price history has these products as they are, all along.
    record_product_versions(session, products, valid_from=SINCE_EVER)
    rule_rows = [
        price_rule_values(rule, None)
        | {
            "id": price_rule_id(
                sku=rule.sku,
                channel=rule.channel.value if rule.channel else None,
                zone=rule.zone,
                store=rule.store,
                valid_from=rule.valid_from,
            )
        }
        for rule in catalogue.rules.values()
    ]
    insert_rows(session, core_table(PriceRuleRow), rule_rows)
    # The sample's price history has these rules and promotions as they are, all along.
    record_rule_versions(session, rule_rows, recorded_at=SINCE_EVER)
    promotions = list(catalogue.promotions.values())
    write_promotions(session, promotions, [], publication_id=None, recorded_at=SINCE_EVER)
    entries = [
        entry for key in sorted(sample.ledger.keys()) for entry in sample.ledger.entries(key)
    ]
    written = write_ledger_entries(session, entries, publication_id=None, source="history", now=now)
    return SeedSummary(
        stores=len(catalogue.stores),
        products=len(catalogue.products),
        rules=len(rule_rows),
        promotions=len(promotions),
        ledger_entries=written,
    )
