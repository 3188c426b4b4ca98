"""The Omnibus ledger of one cheese on one label: a world showing CHS-1 at 4.99 in S01
(the real controller, simulated labels, one test clock), the admin API over it, and
what its ledger and label say.

Cheese, not milk: milk is perishable, and its prior price is the one before the run of
reductions (PL art. 4 ust. 4), not the 30-day low.

The fixtures `world` and `api` are imported by the test modules that use them
(`# noqa: F401 - fixtures`); `api` there is this world's admin client, not
tests/esl/conftest.py's.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, select

from esl.db.audit_models import LabelContentRow
from esl.db.engine import session_factory
from esl.db.models import LedgerEntryRow
from tests.pipeline.small_world import World

__all__ = [
    "DAY",
    "api_fixture",
    "category_promotion",
    "entries",
    "label_prior_price",
    "move_cheese",
    "promotion",
    "shelf",
    "store_channel_entries",
    "world_fixture",
]

DAY = timedelta(days=1)


@pytest.fixture(name="world")
async def world_fixture(seeded: Engine) -> World:
    return await World.showing(seeded, {"CHS-1": "4.99"}, count=1, sku="CHS-1")


@pytest.fixture(name="api")
async def api_fixture(world: World) -> AsyncIterator[httpx.AsyncClient]:
    async with world.admin_api() as client:
        yield client


async def put_cheese(api: httpx.AsyncClient, sku: str, *, on_sale_since: datetime) -> None:
    """`PUT` a half-kilo cheese `sku` on sale since `on_sale_since` (created or changed)."""
    answer = await api.put(
        f"/api/v1/products/{sku}",
        json={
            "name": f"Ser {sku}",
            "category": "cheese",
            "vat_rate": "5",
            "net_content": "0.5",
            "net_unit": "kg",
            "on_sale_since": on_sale_since.isoformat(),
        },
    )
    assert answer.status_code in (200, 201), answer.text


def promotion(promotion_id: str, price: str, *, starts: datetime, ends: datetime | None) -> Any:
    """The publication item of a fixed-price promotion of CHS-1."""
    return {
        "action": "upsert_promotion",
        "promotion_id": promotion_id,
        "kind": "fixed_price",
        "amount": price,
        "skus": ["CHS-1"],
        "valid_from": starts.isoformat(),
        **({"valid_until": ends.isoformat()} if ends is not None else {}),
    }


def category_promotion(category: str, *, starts: datetime, ends: datetime | None = None) -> Any:
    """The publication item of ALL-<CATEGORY>: 1.00 off everything in `category`."""
    return {
        "action": "upsert_promotion",
        "promotion_id": f"ALL-{category.upper()}",
        "kind": "amount_off",
        "amount": "1.00",
        "categories": [category],
        "valid_from": starts.isoformat(),
        **({"valid_until": ends.isoformat()} if ends is not None else {}),
    }


async def move_cheese(
    api: httpx.AsyncClient,
    category: str,
    name: str = "Ser gouda",
    *,
    sku: str = "CHS-1",
    gtin: str = "5900512000015",
) -> None:
    """PUT the cheese `sku` (created when new) into `category` through the API."""
    answer = await api.put(
        f"/api/v1/products/{sku}",
        json={
            "name": name,
            "brand": "Mlekovita",
            "gtin": gtin,
            "category": category,
            "vat_rate": "5",
            "net_content": "150",
            "net_unit": "g",
            "perishable": False,
            "on_sale_since": "2025-01-01T00:00:00Z",
        },
    )
    assert answer.status_code == 200, answer.text


def entries(world: World, **where: Any) -> list[LedgerEntryRow]:
    """The ledger entries whose columns equal `where`, in the order written."""
    with world.sessions() as session:
        statement = select(LedgerEntryRow).where(
            *(getattr(LedgerEntryRow, name) == value for name, value in where.items())
        )
        return list(session.scalars(statement.order_by(LedgerEntryRow.id)))


def store_channel_entries(
    engine: Engine, sku: str = "CHS-1", store: str = "S01"
) -> list[LedgerEntryRow]:
    """`sku`'s store-channel entries of `store`, in the order they take effect."""
    with session_factory(engine)() as session:
        return list(
            session.scalars(
                select(LedgerEntryRow)
                .where(
                    LedgerEntryRow.sku == sku,
                    LedgerEntryRow.channel == "store",
                    LedgerEntryRow.store == store,
                )
                .order_by(LedgerEntryRow.effective_at)
            )
        )


def shelf(world: World, at: datetime, sku: str = "CHS-1") -> list[tuple[str, Decimal, str | None]]:
    """`sku`'s store-channel entries of S01 effective at `at`: (source, price, promotion)."""
    return [
        (row.source, row.amount, row.promotion_id)
        for row in entries(world, sku=sku, channel="store", store="S01", effective_at=at)
    ]


def label_prior_price(world: World) -> Decimal | None:
    """The prior price printed on the image the controller rendered for the world's label
    and sent it (a simulated label left idle for a week has run its battery down, so
    what it confirms is not asked)."""
    (label_id,) = world.labels
    world.controller.plan_due_work()
    state = world.state(label_id)
    with world.sessions() as session:
        content = session.get(LabelContentRow, state.desired_hash)
        assert content is not None
        return content.prior_price
