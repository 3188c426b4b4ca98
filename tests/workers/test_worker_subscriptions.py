"""A worker's MQTT link hears only the stores it holds: it starts hearing none, follows
its share as it changes, and a store given up goes quiet (the broker stops sending it)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from gateways.base import Downlink, Uplink
from gateways.mqtt.connection import PahoConnection
from gateways.mqtt.driver import MqttGateway
from gateways.mqtt.endpoint import BrokerEndpoint, parse_broker_url
from gateways.mqtt.topics import TopicKind, subscription_filters, topic_for
from tests.fixtures.mosquitto import MosquittoProcess


@dataclass(frozen=True)
class _Sides:
    """A worker's link to the broker, holding no store at first, and the stores' side."""

    endpoint: BrokerEndpoint
    worker: MqttGateway
    stores: PahoConnection
    heard: asyncio.Queue[Uplink]  # what the worker heard on `.../up`, in its order

    async def up(self, store: str, payload: bytes) -> None:
        await self.stores.publish(topic_for(store=store, gateway="gw1", kind=TopicKind.UP), payload)

    async def broker_caught_up(self, store: str) -> None:
        # A frame for a store waits until the store's own session first connected and
        # subscribed; a store given up is dropped at once, its session closing.
        await self.worker.send(Downlink(store, "gw1", "L-0001", b"round trip"))

    async def next_heard(self) -> Uplink:
        return await asyncio.wait_for(self.heard.get(), timeout=30)


@asynccontextmanager
async def _sides(mosquitto: MosquittoProcess, *, worker_id: str) -> AsyncIterator[_Sides]:
    endpoint = parse_broker_url(mosquitto.url)
    worker = MqttGateway(endpoint, client_id=worker_id, stores=())
    stores = PahoConnection(
        endpoint,
        client_id=f"stores-of-{worker_id}",
        persistent_session=False,
        subscriptions=(),
        on_message=lambda _message: None,
    )
    heard: asyncio.Queue[Uplink] = asyncio.Queue()

    async def listen() -> None:
        async for event in worker.events():
            if isinstance(event, Uplink):
                heard.put_nowait(event)

    await worker.start()
    await stores.connect()
    listening = asyncio.create_task(listen())
    try:
        yield _Sides(endpoint, worker, stores, heard)
    finally:
        await worker.stop()
        await stores.disconnect()
        await listening


async def test_a_worker_hears_only_the_stores_it_follows(mosquitto: MosquittoProcess) -> None:
    async with _sides(mosquitto, worker_id="worker-under-test") as sides:
        worker = sides.worker
        # Holding nothing, it hears nothing: a marker on a store it then takes comes first.
        await sides.up("S01", b"before")
        worker.follow_stores(frozenset({"S01"}))
        await sides.broker_caught_up("S01")
        await sides.up("S02", b"not mine")
        await sides.up("S01", b"mine")
        first = await sides.next_heard()
        assert (first.store, first.payload) == ("S01", b"mine")

        # The share changes: S02 taken, S01 given up.
        worker.follow_stores(frozenset({"S02"}))
        await sides.broker_caught_up("S02")
        await sides.up("S01", b"given up")
        await sides.up("S02", b"taken")
        second = await sides.next_heard()
        assert (second.store, second.payload) == ("S02", b"taken")
        # A last marker proves nothing of S01 was queued in between.
        await sides.up("S02", b"last")
        third = await sides.next_heard()
        assert (third.store, third.payload) == ("S02", b"last")
        assert sides.heard.empty()


async def test_a_store_taken_again_hears_nothing_left_queued_for_its_earlier_holding(
    mosquitto: MosquittoProcess,
) -> None:
    """A worker gives a store up and later takes it back (the balance hands it back as
    another worker's surplus). The session it closed was its own client id's: resumed,
    the broker delivered what it had left unacknowledged then, answers and check-ins of
    the earlier holding, read as new; an old check-in made the record forget what the
    label shows (found in tests/workers/test_database_outage.py under load)."""
    async with _sides(mosquitto, worker_id="worker-taking-back") as sides:
        worker = sides.worker
        worker.follow_stores(frozenset({"S01"}))
        await sides.broker_caught_up("S01")
        worker.follow_stores(frozenset())
        # What the closed session left at the broker (the worker busy, an answer sent
        # to it and not acknowledged): the session of the same client id, subscribed,
        # with an answer queued while it is away.
        earlier = PahoConnection(
            sides.endpoint,
            client_id="worker-taking-back.S01",
            persistent_session=True,
            subscriptions=subscription_filters(("S01",)),
            on_message=lambda _message: None,
        )
        await earlier.connect()
        await earlier.disconnect()
        await sides.up("S01", b"of the earlier holding")

        worker.follow_stores(frozenset({"S01"}))
        await sides.broker_caught_up("S01")
        await sides.up("S01", b"of this holding")
        first = await sides.next_heard()
        assert first.payload == b"of this holding"
