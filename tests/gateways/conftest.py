"""Broker fixtures for the MQTT tests: a real Mosquitto, or the embedded amqtt broker."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from esl.mqtt.embedded_broker import EmbeddedBroker
from gateways.mqtt.endpoint import BrokerEndpoint
from tests.fixtures.mosquitto import start_mosquitto


@pytest.fixture(params=["mosquitto", "amqtt"])
async def broker(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[BrokerEndpoint]:
    """The same test against the production broker and the embedded default."""
    if request.param == "mosquitto":
        process = start_mosquitto(tmp_path / "mosquitto")
        try:
            yield BrokerEndpoint(host=process.host, port=process.port)
        finally:
            process.stop()
    else:
        async with EmbeddedBroker() as embedded:
            yield embedded.endpoint
