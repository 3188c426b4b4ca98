"""Fixtures shared by every test folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.mosquitto import MosquittoProcess, start_mosquitto


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[MosquittoProcess]:
    """A real Mosquitto on a free loopback port, anonymous clients allowed."""
    broker = start_mosquitto(tmp_path / "mosquitto")
    yield broker
    broker.stop()
