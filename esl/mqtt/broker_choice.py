"""The broker the controller uses: the configured URL, or else an embedded one.

    async with configured_broker(settings.broker_url) as endpoint:
        gateway = MqttGateway(endpoint.with_credentials(...) if needed)

With no URL the embedded amqtt broker runs on loopback for as long as the block does.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from esl.mqtt.embedded_broker import EmbeddedBroker
from gateways.mqtt.endpoint import BrokerEndpoint, parse_broker_url

__all__ = ["configured_broker"]


@asynccontextmanager
async def configured_broker(broker_url: str | None) -> AsyncIterator[BrokerEndpoint]:
    if broker_url:
        yield parse_broker_url(broker_url)
        return
    async with EmbeddedBroker() as broker:
        yield broker.endpoint
