"""`esl mqtt broker`: the embedded broker as a process of its own, stopped by Ctrl-C."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys

import pytest

from gateways.mqtt.driver import MqttGateway
from gateways.mqtt.endpoint import parse_broker_url
from tests.fixtures.mosquitto import free_port

pytestmark = pytest.mark.integration


async def test_the_broker_command_serves_until_interrupted() -> None:
    port = free_port()
    command = ["mqtt", "broker", "--port", str(port)]
    process = subprocess.Popen(
        [sys.executable, "-c", "from esl.cli import main; main()", *command],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(asyncio.to_thread(process.stdout.readline), 30)
        assert line.startswith(f"embedded broker at mqtt://esl@127.0.0.1:{port} ")
        endpoint = parse_broker_url(line.split()[3])
        async with MqttGateway(endpoint, client_id="ctl-cmd") as controller:
            assert controller.connected
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()
