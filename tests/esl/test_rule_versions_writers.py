"""Every writer of price rules and promotions records their history as it writes them
(`price_rule_versions`, `promotion_versions`, docs/database.md): a publication (set, end
and remove a price; upsert and end a promotion), a price file (a new rule and one updated
in place), a promotion file (a replaced promotion), the demo's seeding and the audit
bench. After each, the record as it stands (the newest version of each) is exactly what
the rule and promotion tables hold, and a past instant is read as the record held it
then. SQLite always, PostgreSQL when configured."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from esl.bench.audit import _seed as seed_bench
from esl.db.engine import session_factory
from esl.db.mapping import price_rule_from_row, product_from_row
from esl.db.models import PriceRuleRow, ProductRow, PromotionRow
from esl.db.repositories import load_promotions
from esl.db.repositories.rules import promotions_as_at, rules_as_at
from esl.imports import import_prices, import_products, import_promotions
from esl.imports.report import ImportReport
from esl.sample import load_sample
from esl.sample.seeding import seed_sample_catalogue
from pricing.gtin import gtin_check_digit
from tests.support.api import Api
from tests.support.database import BACKENDS, START, backend_engine
from tests.support.pipeline import publish

AFTER_ALL = datetime(2100, 1, 1, tzinfo=UTC)
PRICES = "sku,scope,channel,store_or_zone,price,currency,valid_from,valid_until\n"
PRODUCTS_HEADER = (
    "sku,name,brand,gtin,category,vat_rate,net_content,net_unit,perishable,on_sale_since\n"
)
PROMOTIONS = (
    "id,name,kind,skus,categories,stores,percent,amount,currency,quantity,valid_from,valid_until\n"
)


def _the_record_is_the_tables(session: Session, at: datetime = AFTER_ALL) -> None:
    products = {r.sku: product_from_row(r) for r in session.scalars(select(ProductRow))}
    stored_rules = {r.id: price_rule_from_row(r) for r in session.scalars(select(PriceRuleRow))}
    rules = rules_as_at(session, products.keys(), at)
    assert {k: v for k, v in rules.held.items() if v is not None} == stored_rules
    assert rules.unknown_then == set()
    ids = list(session.scalars(select(PromotionRow.id)))
    stored = dict(load_promotions(session, ids))
    promotions = promotions_as_at(session, products, at)
    assert {k: v for k, v in promotions.held.items() if v is not None} == stored


def _gtin(n: int) -> str:
    payload = f"{590000000000 + n:012d}"
    return payload + str(gtin_check_digit(payload))


def _amounts(session: Session, sku: str, at: datetime) -> list[Decimal]:
    """The national amounts of `sku`'s rules the record held at `at`."""
    rules = rules_as_at(session, [sku], at).held.values()
    return sorted(r.amount.amount for r in rules if r is not None and r.store is None)


def test_publications_and_files_record_every_rule_and_promotion_they_write(
    seeded: Engine,
) -> None:
    sessions = session_factory(seeded)
    t1, t2, t3, t4, t5 = (START + timedelta(days=n) for n in range(1, 6))
    publish(sessions, [{"action": "set_price", "sku": "MLK-1", "amount": "3.49"}], now=t1)
    dairy = "P-DAIRY,Dairy days,percent_off,,dairy,,{percent},,,,,\n"
    with sessions.begin() as session:
        _the_record_is_the_tables(session)
        since = t1.isoformat().replace("+00:00", "Z")
        import_prices(
            session,
            PRICES + f"MLK-1,national,,,3.59,PLN,{since},\nCHS-1,national,,,8.99,PLN,,\n",
            currency="PLN",
            imported_by="t",
            now=t2,
        )
        import_promotions(
            session,
            PROMOTIONS + dairy.format(percent="10"),
            currency="PLN",
            imported_by="t",
            now=t2 + timedelta(hours=1),
        )
    with sessions.begin() as session:
        _the_record_is_the_tables(session)
        import_promotions(
            session,
            PROMOTIONS + dairy.format(percent="20"),
            currency="PLN",
            imported_by="t",
            now=t3,
        )
    publish(
        sessions,
        [
            {"action": "end_price", "sku": "CHS-1"},
            {"action": "end_promotion", "promotion_id": "P-DAIRY"},
            {"action": "set_price", "sku": "CFE-1", "amount": "59.99"},
        ],
        now=t4,
    )
    # A price set ahead, then ended before it started: that rule is deleted.
    ahead = t5 + timedelta(days=1)
    publish(
        sessions,
        [{"action": "set_price", "sku": "CFE-1", "amount": "49.99"}],
        now=t4 + timedelta(hours=1),
        effective_at=ahead,
    )
    with sessions() as session:
        planned = {
            r.id
            for r in session.scalars(select(PriceRuleRow).where(PriceRuleRow.valid_from == ahead))
        }
    publish(sessions, [{"action": "end_price", "sku": "CFE-1"}], now=t5, effective_at=ahead)
    with sessions() as session:
        _the_record_is_the_tables(session)
        assert planned
        assert session.scalars(select(PriceRuleRow).where(PriceRuleRow.id.in_(planned))).all() == []
        assert _amounts(session, "MLK-1", t1) == [Decimal("3.49")]
        assert _amounts(session, "MLK-1", t2) == [Decimal("3.59")]
        assert _amounts(session, "CHS-1", t1) == []  # written at t2
        assert _amounts(session, "CFE-1", t5 - timedelta(seconds=1)) == [
            Decimal("49.99"),
            Decimal("59.99"),
        ]
        assert _amounts(session, "CFE-1", t5) == [Decimal("59.99")]  # the planned one deleted
        products = {r.sku: product_from_row(r) for r in session.scalars(select(ProductRow))}
        dairy_then = [
            promotions_as_at(session, products, at).held.get("P-DAIRY")
            for at in (t2, t2 + timedelta(hours=1), t3, t4)
        ]
    assert [p.percent if p else None for p in dairy_then] == [None, 10, 20, 20]
    assert [p.valid_until if p else None for p in dairy_then][3] == t4  # ended then


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_demo_and_the_bench_seed_their_rules_and_promotions_recorded(
    tmp_path: Path, backend: str
) -> None:
    anchor = datetime(2026, 11, 23, tzinfo=UTC)
    (tmp_path / "demo").mkdir()
    (tmp_path / "bench").mkdir()
    demo = backend_engine(backend, tmp_path / "demo", seeded=False)
    with demo as engine, session_factory(engine).begin() as session:
        seed_sample_catalogue(session, load_sample(anchor=anchor), now=anchor)
        session.flush()
        _the_record_is_the_tables(session)
        # Recorded since ever: the sample's history has them all along.
        _the_record_is_the_tables(session, at=datetime(1970, 1, 1, tzinfo=UTC))
    bench = backend_engine(backend, tmp_path / "bench", seeded=False)
    with bench as engine, session_factory(engine).begin() as session:
        seed_bench(session, skus=40, stores=4)
        session.flush()
        _the_record_is_the_tables(session)


def test_a_price_file_of_the_whole_catalogue_records_every_rule_it_writes(api: Api) -> None:
    """A bulk load naming most of a chain's catalogue (10,000 rules and more: their
    versions are copied from the rules it wrote in one pass) records each of them,
    inserted or updated in place, as a smaller file does: a past quote answers the price
    then. Loaded as `esl import prices --no-ledger` does (the bench's import)."""
    skus = [f"BULK{n:05d}" for n in range(10_000)]
    sessions = session_factory(api.engine)
    first, second = START + timedelta(hours=1), START + timedelta(days=1)

    def load(cents: int, now: datetime) -> ImportReport:
        rows = "".join(f"{sku},national,,,{cents / 100:.2f},PLN,,\n" for sku in skus)
        with sessions.begin() as session:
            return import_prices(
                session,
                PRICES + rows,
                currency="PLN",
                imported_by="t",
                now=now,
                record_ledger=False,
            )

    with sessions.begin() as session:
        products = "".join(
            f"{sku},Produkt {n},Marka,{_gtin(n)},dairy,5,1,l,no,2025-01-01T00:00:00Z\n"
            for n, sku in enumerate(skus)
        )
        import_products(
            session, PRODUCTS_HEADER + products, currency="PLN", imported_by="t", now=START
        )
    assert load(149, first).inserted == 10_000
    assert load(199, second).updated == 10_000
    api.clock.now = second + timedelta(hours=1)  # both instants past

    def quoted(sku: str, at: datetime) -> str:
        params = {"sku": sku, "store": "S01", "at": at.isoformat()}
        answer = api.client.get("/api/v1/quote", params=params, headers=api.headers("auditor"))
        assert answer.status_code == 200, answer.text
        return str(answer.json()["price"])

    for sku in (skus[0], skus[4_321], skus[-1]):
        assert quoted(sku, first) == "1.49"
        assert quoted(sku, second - timedelta(seconds=1)) == "1.49"
        assert quoted(sku, second) == "1.99"
    with sessions() as session:
        _the_record_is_the_tables(session)
        then = rules_as_at(session, skus, first).held.values()
        assert {rule.amount.amount for rule in then if rule is not None} == {Decimal("1.49")}
