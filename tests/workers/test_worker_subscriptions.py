"""A worker's MQTT link hears only the stores it holds: it starts hearing none, follows
its share as it changes, and a store given up goes quiet (the broker stops sending it)."""

from __future__ import annotations

import asyncio

from gateways.base import Downlink, Uplink
from gateways.mqtt.connection import PahoConnection
from gateways.mqtt.driver import MqttGateway
from gateways.mqtt.endpoint import parse_broker_url
from gateways.mqtt.topics import TopicKind, topic_for
from tests.fixtures.mosquitto import MosquittoProcess


async def _next_uplink(events: asyncio.Queue[Uplink]) -> Uplink:
    return await asyncio.wait_for(events.get(), timeout=30)


async def test_a_worker_hears_only_the_stores_it_follows(mosquitto: MosquittoProcess) -> None:
    endpoint = parse_broker_url(mosquitto.url)
    worker = MqttGateway(endpoint, client_id="worker-under-test", stores=())
    store_side = PahoConnection(
        endpoint,
        client_id="stores-under-test",
        persistent_session=False,
        subscriptions=(),
        on_message=lambda _message: None,
    )
    heard: asyncio.Queue[Uplink] = asyncio.Queue()

    async def listen() -> None:
        async for event in worker.events():
            if isinstance(event, Uplink):
                heard.put_nowait(event)

    async def broker_caught_up(store: str) -> None:
        # A frame for a store waits until the store's own session first connected and
        # subscribed; a store given up is dropped at once, its session closing.
        await worker.send(Downlink(store, "gw1", "L-0001", b"round trip"))

    async def up(store: str, payload: bytes) -> None:
        topic = topic_for(store=store, gateway="gw1", kind=TopicKind.UP)
        await store_side.publish(topic, payload)

    await worker.start()
    await store_side.connect()
    listening = asyncio.create_task(listen())
    try:
        # Holding nothing, it hears nothing: a marker on a store it then takes comes first.
        await up("S01", b"before")
        worker.follow_stores(frozenset({"S01"}))
        await broker_caught_up("S01")
        await up("S02", b"not mine")
        await up("S01", b"mine")
        first = await _next_uplink(heard)
        assert (first.store, first.payload) == ("S01", b"mine")

        # The share changes: S02 taken, S01 given up.
        worker.follow_stores(frozenset({"S02"}))
        await broker_caught_up("S02")
        await up("S01", b"given up")
        await up("S02", b"taken")
        second = await _next_uplink(heard)
        assert (second.store, second.payload) == ("S02", b"taken")
        # A last marker proves nothing of S01 was queued in between.
        await up("S02", b"last")
        third = await _next_uplink(heard)
        assert (third.store, third.payload) == ("S02", b"last")
        assert heard.empty()
    finally:
        await worker.stop()
        await store_side.disconnect()
        await listening
