"""A product's `on_sale_since` moved later than prices the ledger records it charged.

CHS-1 sold at 8.99 for months (the ledger says so), 9.99 from T0 - 20 d, and a fixed
price of 7.99 from T0: the label rightly reads "Najniższa cena z 30 dni przed obniżką:
8,99 zł". An hour later the product file (or PUT /products) gives CHS-1
`on_sale_since` T0 - 10 d. The controller's own ledger shows CHS-1 charged 8.99 in the
store until T0 - 20 d, inside the 30 days, yet the label is planned again with
"Najniższa cena od początku sprzedaży do obniżki: 9,99 zł" (a saving of 2.00, not 1.00),
and the audit calls it right. For stores the same change is refused (docs/api.md and
docs/csv-formats.md: a later opening "is accepted up to the first price its shelves have
in the ledger and refused after it"); for products nothing holds the window to what
the ledger shows was sold. Now a product's date is held the same way: a product file
or PUT moving it past the first price the ledger shows charged is refused, and shelf
history from before it moves it back.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, func, select

from esl.api.app import create_app
from esl.db.engine import session_factory
from esl.db.models import LedgerEntryRow, ProductRow, ProductVersionRow
from esl.errors import ImportRejectedError
from esl.imports import import_products
from esl.services.keys import Role, create_key
from esl.settings import Settings
from pricing import PriorPriceBasis
from tests.audit.world import T0, AuditWorld
from tests.support.api import AppSwitch

HEADER = (
    "sku,name,brand,gtin,category,vat_rate,net_content,net_unit,perishable,on_sale_since,web_url\n"
)
CHEESE = "CHS-1,Ser gouda 150 g,Mlekovita,5900512000015,dairy,5,150,g,no,{since},\n"


def _reduction(world: AuditWorld) -> None:
    world.publish(
        [{"action": "set_price", "sku": "CHS-1", "amount": "9.99"}], now=T0 - timedelta(days=20)
    )
    world.publish(
        [
            {
                "action": "upsert_promotion",
                "promotion_id": "P-CHS",
                "name": "Gouda",
                "kind": "fixed_price",
                "amount": "7.99",
                "currency": "PLN",
                "skus": ["CHS-1"],
                "channels": ["store"],
                "valid_from": T0.isoformat(),
                "valid_until": (T0 + timedelta(days=7)).isoformat(),
            }
        ],
        now=T0 - timedelta(days=1),
    )


def test_moving_on_sale_since_past_charged_prices_keeps_the_30_day_low(
    world: AuditWorld,
) -> None:
    _reduction(world)
    world.label("L-1", store="S02", sku="CHS-1", at=T0 - timedelta(days=2))
    with world.sessions.begin() as session:
        _, _, resolved = world.planned_content(session, "L-1", at=T0 + timedelta(minutes=1))
    assert (str(resolved.prior_price.amount), resolved.prior_price_basis) == (
        "8.99",
        PriorPriceBasis.LOWEST_30_DAYS,
    )
    world.acknowledged("L-1", at=T0 + timedelta(minutes=1))

    later = T0 - timedelta(days=10)
    with world.sessions.begin() as session, pytest.raises(ImportRejectedError) as refused:
        import_products(
            session,
            HEADER + CHEESE.format(since=later.isoformat()),
            currency="PLN",
            imported_by="t",
            now=T0 + timedelta(hours=1),
        )
    [problem] = refused.value.fields["problems"]
    assert problem["line"] == 2, problem
    assert f"on_sale_since {later.isoformat()} is after " in problem["reason"]
    assert "from when the ledger shows it sold" in problem["reason"]
    with world.sessions.begin() as session:
        assert session.get(ProductRow, "CHS-1").on_sale_since < T0 - timedelta(days=30)

    with world.sessions.begin() as session:
        _, _, replanned = world.planned_content(session, "L-1", at=T0 + timedelta(hours=2))
    # The ledger shows 8.99 charged on this shelf at T0 - 25 d: that is the lowest
    # price of the 30 days before the reduction.
    assert (str(replanned.prior_price.amount), replanned.prior_price_basis) == (
        "8.99",
        PriorPriceBasis.LOWEST_30_DAYS,
    ), (replanned.prior_price, replanned.prior_price_basis, replanned.saving)


@pytest.fixture
def client(
    engine: Engine, tmp_path: Path, http_server: tuple[AppSwitch, str]
) -> Iterator[httpx.Client]:
    with session_factory(engine).begin() as session:
        _, token = create_key(session, name="pricing", role=Role.PRICING, store=None, now=T0)
    switch, url = http_server
    switch.app = create_app(
        Settings(data_dir=tmp_path), engine=engine, clock=lambda: T0 + timedelta(hours=1)
    )
    with httpx.Client(base_url=url, timeout=30, headers={"X-API-Key": token}) as client:
        yield client
    switch.app = None


def test_put_product_is_refused_past_charged_prices_and_the_audit_stays_clean(
    world: AuditWorld, client: httpx.Client
) -> None:
    """PUT /products refuses the same move (422, field on_sale_since); a date moved later
    only up to the first price charged is a correction and stands."""
    _reduction(world)
    world.label("L-1", store="S02", sku="CHS-1", at=T0 - timedelta(days=2))
    world.acknowledged("L-1", at=T0 + timedelta(minutes=1))
    stored = client.get("/api/v1/products/CHS-1").json()
    body = {k: v for k, v in stored.items() if k != "sku"}

    late = client.put(
        "/api/v1/products/CHS-1",
        json={**body, "on_sale_since": (T0 - timedelta(days=10)).isoformat()},
    )
    assert late.status_code == 422, late.text
    error = late.json()["error"]
    assert (error["code"], error["field"]) == ("invalid_item", "on_sale_since")
    assert "from when the ledger shows it sold" in error["message"]
    assert client.get("/api/v1/products/CHS-1").json()["on_sale_since"] == stored["on_sale_since"]

    _, shown = world.acknowledged("L-1", at=T0 + timedelta(hours=2))
    assert str(shown.prior_price) == "8.99", shown
    report = world.audit(at=T0 + timedelta(hours=3)).report
    assert not report.prior_price_problems, report.prior_price_problems

    with world.sessions.begin() as session:
        first_price = session.scalar(
            select(func.min(LedgerEntryRow.effective_at)).where(LedgerEntryRow.sku == "CHS-1")
        )
    corrected = client.put(
        "/api/v1/products/CHS-1", json={**body, "on_sale_since": first_price.isoformat()}
    )
    assert corrected.status_code == 200, corrected.text


def test_history_from_before_on_sale_since_counts_in_the_prior_price(world: AuditWorld) -> None:
    """A chain installs the controller at T0 and loads KAW-1 with `on_sale_since` T0
    (the day it was entered), priced 5.00, then imports its shelf history: 4.00 on S02's
    shelf since T0 - 60 d (docs/csv-formats.md, History: "so the 30-day prior price is
    right from the first day"). A promotion at 4.50 from T0 + 1 d is no reduction of the
    30-day low (4.00), so nothing may be announced. The history is accepted, yet ignored:
    the label announces "Najniższa cena od początku sprzedaży do obniżki: 5,00 zł". A
    store's opening is moved back by such history; a product's on-sale date is not."""
    from esl.imports import import_history

    with world.sessions.begin() as session:
        import_products(
            session,
            HEADER + f"KAW-1,Kawa 250 g,Tchibo,,coffee,23,250,g,no,{T0.isoformat()},\n",
            currency="PLN",
            imported_by="t",
            now=T0,
        )
    world.publish([{"action": "set_price", "sku": "KAW-1", "amount": "5.00"}], now=T0)
    with world.sessions.begin() as session:
        report = import_history(
            session,
            "sku,channel,store,effective_at,price,regular_price,currency\n"
            f"KAW-1,store,S02,{(T0 - timedelta(days=60)).isoformat()},4.00,4.00,PLN\n",
            currency="PLN",
            imported_by="t",
            now=T0 + timedelta(minutes=5),
        )
    assert report.inserted == 1, report
    world.publish(
        [
            {
                "action": "upsert_promotion",
                "promotion_id": "P-KAW",
                "name": "Kawa",
                "kind": "fixed_price",
                "amount": "4.50",
                "currency": "PLN",
                "skus": ["KAW-1"],
                "channels": ["store"],
                "valid_from": (T0 + timedelta(days=1)).isoformat(),
            }
        ],
        now=T0 + timedelta(minutes=10),
    )
    world.label("L-K", store="S02", sku="KAW-1", at=T0 + timedelta(minutes=20))
    with world.sessions.begin() as session:
        _, _, resolved = world.planned_content(session, "L-K", at=T0 + timedelta(days=1, hours=1))
    assert not resolved.announces_reduction, (
        resolved.prior_price,
        resolved.prior_price_basis,
        resolved.saving,
    )
    # The history moved KAW-1's on-sale date back, from the import on (a version).
    with world.sessions.begin() as session:
        assert session.get(ProductRow, "KAW-1").on_sale_since == T0 - timedelta(days=60)
        versions = session.execute(
            select(ProductVersionRow.valid_from, ProductVersionRow.on_sale_since)
            .where(ProductVersionRow.sku == "KAW-1")
            .order_by(ProductVersionRow.valid_from)
        ).all()
    assert [tuple(v) for v in versions] == [
        (T0, T0),
        (T0 + timedelta(minutes=5), T0 - timedelta(days=60)),
    ]
