"""The simulated store gateway on the embedded broker, in one event loop, as `esl demo`
runs them (esl/demo/chain.py: the broker, the gateways and the controller share the
demo's loop)."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from esl.mqtt.embedded_broker import EMBEDDED_USERNAME, EmbeddedBroker
from firmware_sim.mqtt_gateway import MqttStoreGateway, parse_broker_url
from firmware_sim.simulation import SiteConfig, open_simulated_gateway
from gateways.mqtt.network_thread import stop_network_thread


async def test_a_gateway_stopping_on_the_embedded_broker_says_goodbye_without_stalling_the_loop(
    tmp_path: Path,
) -> None:
    """Stopping, the gateway publishes its "offline" status (QoS 1) and waits for the
    broker's PUBACK with paho's blocking `wait_for_publish(2)`, on the event loop the
    embedded broker runs on: the broker cannot answer while the loop is blocked, so each
    gateway stalls the loop for the whole 2 s (`esl demo` closes 2 s a store: 6 s for
    its 3). Every asyncio timer in the broker then expires at once: a QoS 1 message being
    delivered to a client (the controller's store session, during that close) times out
    its 5 s PUBACK wait, and amqtt logs "Task failed and will be skipped" at ERROR with a
    traceback on the demo's stderr (seen in 6 of 34 runs of
    `esl demo --stores 3 --labels 12 --sim-speed 20 --json`)."""
    async with EmbeddedBroker() as broker:
        endpoint = broker.endpoint
        config = SiteConfig(
            store="S001",
            gateway="gw1",
            state_dir=tmp_path / "sim",
            label_count=4,
            check_in_interval_s=0.2,
        )
        site = open_simulated_gateway(config, now=datetime.now(UTC))
        runner = MqttStoreGateway(
            site,
            parse_broker_url(f"mqtt://{endpoint.host}:{endpoint.port}", username=EMBEDDED_USERNAME),
        )
        task = asyncio.create_task(runner.run())
        await runner.wait_connected()
        await asyncio.sleep(0.3)
        # The loop's own view: how long it went without running anything.
        stalls: list[float] = []

        async def heartbeat() -> None:
            last = time.monotonic()
            while True:
                await asyncio.sleep(0.05)
                now = time.monotonic()
                stalls.append(now - last)
                last = now

        beat = asyncio.create_task(heartbeat())
        await asyncio.sleep(0.2)
        started = time.monotonic()
        runner.stop()
        await task
        took = time.monotonic() - started
        await asyncio.sleep(0.2)
        beat.cancel()
        site.close()
        # The goodbye is retained on the broker all the same.
        statuses: list[bytes] = []
        reader = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="reader")
        reader.username_pw_set(EMBEDDED_USERNAME)
        reader.on_connect = lambda c, *_a: c.subscribe(runner.status_topic, 1)
        reader.on_message = lambda _c, _u, m: statuses.append(bytes(m.payload))
        reader.connect(endpoint.host, endpoint.port)
        reader.loop_start()
        for _ in range(40):
            if statuses:
                break
            await asyncio.sleep(0.05)
        reader.disconnect()
        stop_network_thread(reader)
    assert statuses, "the goodbye is retained"
    assert b"offline" in statuses[-1]
    # Before: 2.0 s each (paho's wait for the PUBACK the blocked broker could not send).
    assert took < 1.0, f"stopping the gateway took {took:.2f} s"
    assert max(stalls) < 1.0, f"the event loop (and the broker on it) stalled {max(stalls):.2f} s"
