"""Fixtures of the pipeline tests: the shared-clock dairy store (the MQTT chain and the
seeded SQLite database are every folder's, tests/conftest.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.fixtures.mosquitto import MosquittoProcess
from tests.pipeline.shared_clock_store import (
    DAIRY_PRICES,
    DAIRY_SPEED,
    SharedClockStore,
    priced_store,
)


@pytest.fixture
async def dairy_store(
    engine: Engine, mosquitto: MosquittoProcess, tmp_path: Path
) -> AsyncIterator[SharedClockStore]:
    """A shared-clock store with milk and cheese priced (DAIRY_PRICES); no label installed
    and nothing running until the test says so; closed after it."""
    shelf = priced_store(
        engine, mosquitto, tmp_path / "sim", speed=DAIRY_SPEED, prices=DAIRY_PRICES
    )
    try:
        yield shelf
    finally:
        await shelf.close()
