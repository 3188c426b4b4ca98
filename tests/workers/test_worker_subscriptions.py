"""A worker's MQTT link hears only the stores it holds: it starts hearing none, follows
its share as it changes, and a store given up goes quiet (the broker stops sending it)."""

from __future__ import annotations

import asyncio

from gateways.base import Downlink, Uplink
from gateways.mqtt.connection import PahoConnection
from gateways.mqtt.driver import MqttGateway
from gateways.mqtt.endpoint import parse_broker_url
from gateways.mqtt.topics import TopicKind, subscription_filters, topic_for
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


async def test_a_store_taken_again_hears_nothing_left_queued_for_its_earlier_holding(
    mosquitto: MosquittoProcess,
) -> None:
    """A worker gives a store up and later takes it back (the balance hands it back as
    another worker's surplus). The session it closed was its own client id's: resumed,
    the broker delivered what it had left unacknowledged then, answers and check-ins of
    the earlier holding, read as new; an old check-in made the record forget what the
    label shows (found in tests/workers/test_database_outage.py under load)."""
    endpoint = parse_broker_url(mosquitto.url)
    worker = MqttGateway(endpoint, client_id="worker-taking-back", stores=())
    store_side = PahoConnection(
        endpoint,
        client_id="stores-taken-back",
        persistent_session=False,
        subscriptions=(),
        on_message=lambda _message: None,
    )
    heard: asyncio.Queue[Uplink] = asyncio.Queue()

    async def listen() -> None:
        async for event in worker.events():
            if isinstance(event, Uplink):
                heard.put_nowait(event)

    async def up(payload: bytes) -> None:
        await store_side.publish(topic_for(store="S01", gateway="gw1", kind=TopicKind.UP), payload)

    await worker.start()
    await store_side.connect()
    listening = asyncio.create_task(listen())
    try:
        worker.follow_stores(frozenset({"S01"}))
        await worker.send(Downlink("S01", "gw1", "L-0001", b"round trip"))
        worker.follow_stores(frozenset())
        # What the closed session left at the broker (the worker busy, an answer sent
        # to it and not acknowledged): the session of the same client id, subscribed,
        # with an answer queued while it is away.
        earlier = PahoConnection(
            endpoint,
            client_id="worker-taking-back.S01",
            persistent_session=True,
            subscriptions=subscription_filters(("S01",)),
            on_message=lambda _message: None,
        )
        await earlier.connect()
        await earlier.disconnect()
        await up(b"of the earlier holding")

        worker.follow_stores(frozenset({"S01"}))
        await worker.send(Downlink("S01", "gw1", "L-0001", b"round trip"))
        await up(b"of this holding")
        first = await _next_uplink(heard)
        assert first.payload == b"of this holding"
    finally:
        await worker.stop()
        await store_side.disconnect()
        await listening
