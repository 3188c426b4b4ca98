"""Fixtures shared by every test folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from esl.api.server import ServerThread
from tests.fixtures.mosquitto import MosquittoProcess, start_mosquitto
from tests.support.api import AppSwitch


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[MosquittoProcess]:
    """A real Mosquitto on a free loopback port, anonymous clients allowed."""
    broker = start_mosquitto(tmp_path / "mosquitto")
    yield broker
    broker.stop()


@pytest.fixture(scope="session")
def http_server() -> Iterator[tuple[AppSwitch, str]]:
    """One uvicorn per test worker; each test installs its app in the switch."""
    switch = AppSwitch()
    with ServerThread(switch) as server:
        yield switch, server.url
