"""A single controller hears every store of its database on a session of the store's own
(`gateways/mqtt/driver.py`), a store added while it runs too: one store's login flooding
its `up` topic then fills only that store's queue at the broker, not the one queue of a
session hearing every store (`tests/gateways/test_mqtt_store_sessions.py`)."""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import Engine, select

from esl.composition import RunningController, controller_settings, controller_transport
from esl.db.engine import session_factory
from esl.db.models import GatewayStateRow, StoreRow
from esl.settings import Settings
from gateways.mqtt.endpoint import BrokerEndpoint
from gateways.mqtt.store_gateway import StoreGatewayClient
from tests.fixtures.mosquitto import MosquittoProcess
from tests.support.clock import wall_clock
from tests.support.waiting import until


async def test_a_controller_hears_each_store_on_its_own_session_and_a_new_store_too(
    engine: Engine, mosquitto: MosquittoProcess
) -> None:
    sessions = session_factory(engine)
    with sessions.begin() as session:
        stores = frozenset(session.scalars(select(StoreRow.code)))
    endpoint = BrokerEndpoint(mosquitto.host, mosquitto.port)
    transport = controller_transport(endpoint)
    running = await RunningController.start(
        controller_settings(Settings.defaults(), poll_every=timedelta(milliseconds=50)),
        transport=transport,
        sessions=sessions,
        clock=wall_clock,
        rng=random.Random(1),
    )
    gateway = StoreGatewayClient(endpoint, store="S99", gateway="S99-gw1")
    try:
        await until(
            lambda: transport.store_sessions == stores, what="a session per store", timeout_s=30
        )
        with sessions.begin() as session:
            session.add(StoreRow(code="S99", name="Sopot", zone=None))
        await until(
            lambda: "S99" in transport.store_sessions, what="the new store's session", timeout_s=30
        )
        await gateway.start()  # announces itself online on its status topic

        def heard_online() -> bool:
            with sessions.begin() as session:
                row = session.get(GatewayStateRow, ("S99", "S99-gw1"))
                return row is not None and row.online

        await until(heard_online, what="the new store's gateway heard", timeout_s=30)
    finally:
        await gateway.stop()
        await running.stop()
