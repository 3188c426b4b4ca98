"""Reconnecting waits longer after each failed attempt, up to the longest delay."""

from __future__ import annotations

import asyncio
import itertools
import time

import pytest

from gateways.errors import GatewayConnectError
from gateways.mqtt.driver import MqttGateway
from gateways.mqtt.endpoint import BrokerEndpoint


async def test_the_delay_between_attempts_doubles_up_to_its_longest() -> None:
    attempts: list[float] = []

    async def hang_up(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        attempts.append(time.monotonic())  # a "broker" that drops every connection
        writer.close()

    server = await asyncio.start_server(hang_up, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        controller = MqttGateway(
            BrokerEndpoint("127.0.0.1", port),
            connect_timeout_s=2.5,
            reconnect_delay_s=(0.1, 0.4),
        )
        with pytest.raises(GatewayConnectError):
            await controller.start()
    gaps = [later - earlier for earlier, later in itertools.pairwise(attempts)]
    # 0.1, 0.2, 0.4, 0.4, ...: about seven attempts in 2.5 s, not 25.
    assert 4 <= len(attempts) <= 9, gaps
    assert gaps[0] < 0.4, gaps
    assert 0.15 < gaps[1] < 0.7, gaps
    assert all(0.35 < gap < 1.2 for gap in gaps[2:]), gaps
