"""A price change made through the API travels to the pixels of every label of two stores."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from esl.api.app import create_app
from esl.cli.controller_process import run_controller
from esl.db.models import LabelAcknowledgementRow, OutboxRow
from esl.services.keys import Role, create_key
from esl.settings import Settings
from tests.support.chain import Chain
from tests.support.clock import wall_clock
from tests.support.pipeline import publish_prices

pytestmark = pytest.mark.integration


async def test_a_price_change_through_the_api_reaches_every_label_pixel_for_pixel(
    chain: Chain,
) -> None:
    publish_prices(
        chain.sessions, {"MLK-1": "3.49", "CHS-1": "8.99", "CFE-1": "59.99"}, now=wall_clock()
    )
    for store in ("S01", "S02"):
        chain.add_store(store, labels=6)
        await chain.start_gateway(store)
    await chain.start_controller()
    await chain.wait_converged(wall_clock())

    with chain.sessions.begin() as session:
        _, token = create_key(
            session, name="pricing", role=Role.PRICING, store=None, now=wall_clock()
        )
    app = create_app(Settings(currency="PLN"), engine=chain.engine, clock=wall_clock)
    headers = {"X-API-Key": token}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://esl", headers=headers
    ) as api:
        created = await api.post(
            "/api/v1/publications",
            json={
                "title": "cheaper milk and coffee",
                "items": [
                    {"action": "set_price", "sku": "MLK-1", "amount": "2.99"},
                    {"action": "set_price", "sku": "CFE-1", "amount": "54.99"},
                ],
            },
        )
        assert created.status_code == 201, created.text
        publication = created.json()["id"]
        assert (await api.post(f"/api/v1/publications/{publication}/validate")).status_code == 200
        published = await api.post(f"/api/v1/publications/{publication}/publish")
        assert published.status_code == 200, published.text
    await chain.wait_converged(wall_clock())

    with chain.sessions() as session:
        deltas = session.scalar(
            select(func.count()).select_from(OutboxRow).where(OutboxRow.base_hash.is_not(None))
        )
        acks = session.scalar(select(func.count()).select_from(LabelAcknowledgementRow))
    # 8 of the 12 labels show a product whose price changed; each got a delta of its image.
    assert deltas == 8
    assert acks is not None
    assert acks >= 20


async def test_esl_run_brings_the_labels_to_their_prices(chain: Chain, tmp_path: Path) -> None:
    publish_prices(
        chain.sessions, {"MLK-1": "3.49", "CHS-1": "8.99", "CFE-1": "59.99"}, now=wall_clock()
    )
    chain.add_store("S01", labels=4)
    await chain.start_gateway("S01")
    settings = Settings(
        data_dir=tmp_path,
        database_url=str(chain.engine.url),
        broker_url=chain.broker.url,
        controller_window=4,
        controller_poll_s=0.1,
    )
    stop = asyncio.Event()
    running = asyncio.create_task(run_controller(settings, stop=stop))
    try:
        await chain.wait_converged(wall_clock())
    finally:
        stop.set()
        await running
