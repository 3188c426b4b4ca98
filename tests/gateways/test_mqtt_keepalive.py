"""An idle link stays up: the event loop sends paho's keepalive pings."""

from __future__ import annotations

import asyncio

import pytest

from gateways.mqtt.connection import IncomingMessage, PahoConnection
from gateways.mqtt.endpoint import BrokerEndpoint
from tests.fixtures.mosquitto import MosquittoProcess

pytestmark = pytest.mark.integration


@pytest.mark.slow  # idles 10 s on purpose: three keepalive periods
async def test_an_idle_connection_outlives_several_keepalive_periods(
    mosquitto: MosquittoProcess,
) -> None:
    changes: list[tuple[bool, str | None]] = []
    received: list[IncomingMessage] = []
    connection = PahoConnection(
        BrokerEndpoint(mosquitto.host, mosquitto.port),
        client_id="idle",
        persistent_session=False,
        subscriptions=("idle/echo",),
        on_message=received.append,
        on_link_change=lambda up, reason: changes.append((up, reason)),
        keepalive_s=3,  # Mosquitto drops a client silent for 1.5 keepalive periods
    )
    await connection.connect()
    try:
        await asyncio.sleep(10)
        assert changes == [(True, None)]  # never dropped, never reconnected
        await connection.publish("idle/echo", b"still here")
        for _ in range(100):
            if received:
                break
            await asyncio.sleep(0.02)
        assert [m.payload for m in received] == [b"still here"]
    finally:
        await connection.disconnect()
