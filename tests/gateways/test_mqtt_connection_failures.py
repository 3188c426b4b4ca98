"""What the controller says when it cannot reach a broker at all."""

from __future__ import annotations

import time

import pytest

from gateways.errors import GatewayConnectError
from gateways.mqtt.driver import MqttGateway
from gateways.mqtt.endpoint import BrokerEndpoint
from tests.fixtures.mosquitto import free_port


async def test_start_fails_within_its_timeout_when_nothing_listens() -> None:
    port = free_port()
    controller = MqttGateway(BrokerEndpoint("127.0.0.1", port), connect_timeout_s=1.5)
    started = time.monotonic()
    with pytest.raises(GatewayConnectError) as caught:
        await controller.start()
    assert time.monotonic() - started < 5
    assert caught.value.fields == {
        "host": "127.0.0.1",
        "port": port,
        "reason": "broker unreachable: [Errno 111] Connection refused",
    }
