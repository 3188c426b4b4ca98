"""A product stored before the SKU spelling rule ('MLEKO-Ł', 'MLK 2'; esl/skus.py) keeps
its labels true: a price change published through the API reaches them, on SQLite and
PostgreSQL. Since that rule the API refused the change (422, the sku's pattern), so the
shelf kept a price the till no longer charged."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from esl.db.engine import session_factory
from tests.pipeline.small_world import World
from tests.support.database import BACKENDS, backend_engine, insert_product_as_before


@pytest.fixture(params=BACKENDS)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    with backend_engine(request.param, tmp_path) as engine:
        yield engine


@pytest.mark.parametrize("sku", ["MLEKO-Ł", "MLK 2"])
async def test_a_price_change_reaches_its_labels(engine: Engine, sku: str) -> None:
    with session_factory(engine).begin() as session:
        insert_product_as_before(session, sku)
    world = World(engine, count=2, sku=sku)
    async with world.admin_api() as api:
        for amount in ("3.49", "3.79"):
            body = {
                "title": amount,
                "items": [{"action": "set_price", "sku": sku, "amount": amount}],
            }
            created = await api.post("/api/v1/publications", json=body)
            assert created.status_code == 201, created.text
            number = created.json()["id"]
            validated = await api.post(f"/api/v1/publications/{number}/validate")
            assert validated.json()["status"] == "validated", validated.text
            published = await api.post(f"/api/v1/publications/{number}/publish")
            assert published.status_code == 200, published.text
            quote = await api.get("/api/v1/quote", params={"sku": sku, "store": "S01"})
            assert quote.json()["price"] == amount, quote.text
            await world.converge()
            # Each label shows, and the record confirms, the image of the new price.
            for label_id in world.labels:
                assert world.panel_hash(label_id) == world.hash_of(label_id)
                state = world.state(label_id)
                assert state.confirmed_hash == state.desired_hash == world.hash_of(label_id)
