"""An update whose frame is larger than the broker's packet limit is parked, with the
reason, at its first send: never handed to the broker (which would drop the controller's
link on it, again after every reconnection, holding up every store's frames), never sent
again, and no slot of its gateway's window held. Its label is failed in health, naming
the limit (docs/mqtt.md, docs/pipeline.md)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from esl.composition import build_controller, controller_settings, controller_transport
from esl.db.engine import session_factory
from esl.db.models import OutboxRow
from esl.services.health import label_conditions
from esl.services.label_status import LabelStatus
from esl.settings import Settings
from firmware_sim.fleet import make_fleet
from gateways.mqtt.endpoint import BrokerEndpoint
from tests.fixtures.mosquitto import start_mosquitto
from tests.pipeline.small_world import PRICES_A, T0
from tests.support.clock import Clock
from tests.support.pipeline import publish_prices, register_and_bind

pytestmark = pytest.mark.integration

LIMIT = 512  # the least the settings take; a 2.9" label's image frame is larger
REASON = f"undeliverable: larger than the broker's packet limit of {LIMIT} bytes"


@pytest.fixture
def endpoint(tmp_path: Path) -> Iterator[BrokerEndpoint]:
    broker = start_mosquitto(tmp_path / "mq", extra_config=f"max_packet_size {LIMIT}\n")
    try:
        yield BrokerEndpoint(broker.host, broker.port)
    finally:
        broker.stop()


async def test_a_frame_too_large_for_the_broker_is_parked_with_the_reason(
    engine: Engine, endpoint: BrokerEndpoint, tmp_path: Path
) -> None:
    settings = Settings.model_construct(mqtt_max_packet_bytes=LIMIT)
    sessions = session_factory(engine)
    clock = Clock(now=T0)
    (label,) = make_fleet(store="S01", gateway="gw1", count=1)
    with sessions.begin() as session:
        register_and_bind(session, [label], store="S01", gateway="gw1", skus=["MLK-1"], now=T0)
    publish_prices(sessions, PRICES_A, now=T0)
    transport = controller_transport(
        endpoint, max_packet_bytes=settings.mqtt_max_packet_bytes, reconnect_delay_s=(0.1, 0.5)
    )
    async with transport:
        controller = build_controller(
            controller_settings(Settings.defaults(), window=8),
            gateway=transport,
            sessions=sessions,
            clock=clock,
            rng=random.Random(3),
        )
        dispatcher = controller.dispatcher
        controller.plan_due_work()
        dispatcher.step()
        await dispatcher.sends_done()
        with sessions() as session:
            rows = session.execute(
                select(OutboxRow.status, OutboxRow.attempts, OutboxRow.parked_detail).where(
                    OutboxRow.label_id == label.label_id
                )
            ).all()
            ((_, _, condition, _, _),) = label_conditions(
                session, now=clock.now, label_ids=[label.label_id]
            )
        assert [tuple(row) for row in rows] == [
            ("parked", 1, f"larger than the broker's packet limit of {LIMIT} bytes")
        ]
        assert (condition.status, condition.reason) == (LabelStatus.FAILED, REASON)
        assert dispatcher.in_flight == 0  # its gateway's window is free
        assert dispatcher.counts.parked == 1
        # Not sent again, however long one waits: nothing comes due.
        clock.advance(timedelta(seconds=Settings.defaults().retry_ack_timeout_s * 2))
        dispatcher.step()
        await dispatcher.sends_done()
        with sessions() as session:
            assert session.scalars(select(OutboxRow.status)).all() == ["parked"]
        assert transport.connected

    # The operator raises the broker's limit and ESL_MQTT_MAX_PACKET_BYTES (docs/mqtt.md)
    # and starts the controller again: the update is sent at its start. Before, it stayed
    # parked, the shelf on its old price, until the label's content changed again.
    roomy = start_mosquitto(tmp_path / "mq-roomy")
    try:
        async with controller_transport(
            BrokerEndpoint(roomy.host, roomy.port), reconnect_delay_s=(0.1, 0.5)
        ) as transport:
            dispatcher = build_controller(
                controller_settings(Settings.defaults(), window=8),
                gateway=transport,
                sessions=sessions,
                clock=clock,
                rng=random.Random(3),
            ).dispatcher
            dispatcher.start_over()
            dispatcher.step()
            await dispatcher.sends_done()
    finally:
        roomy.stop()
    with sessions() as session:
        sent = session.execute(
            select(OutboxRow.status, OutboxRow.attempts, OutboxRow.parked_detail)
        )
        assert [tuple(row) for row in sent] == [("sent", 1, None)]
