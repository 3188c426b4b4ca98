"""A BLE label out of range, as the controller hears of it: through `esl gateway ble`'s own
reports (kind 0x83, docs/protocol.md "Gateway reports"), on the same real parts as
test_gateway_process.py: the controller (paho driver) -> Mosquitto -> the gateway
process -> bumble's host stack over HCI/TCP -> simulated labels on bumble's virtual link.

The label is taken out of range by its radio refusing every connection (the simulator's
`faults.refuse_connections`): nothing it could sign reaches the controller, so what the
controller knows of why is the gateway's word, and that word never makes an update count
as shown.
"""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from esl.composition import build_controller, controller_settings, controller_transport
from esl.db.models import LabelStateRow
from esl.db.vitals_models import LabelVitalsRow
from esl.delivery_states import LabelStatus, OutboxStatus, ParkReason
from esl.pipeline import RetryPolicy
from esl.pipeline.controller import UpdateController
from esl.services.health import label_conditions
from esl.settings import Settings
from gateways.base import GatewayState
from gateways.mqtt.connection import IncomingMessage, PahoConnection
from gateways.mqtt.endpoint import parse_broker_url
from gateways.mqtt.store_gateway import StoreGatewayClient
from gateways.mqtt.topics import TopicKind, decode_status, topic_for
from gateways.protocol import GatewayReport, ReportFlag, encode_gateway_report, peek_header
from tests.gateways.ble.test_gateway_process import (  # noqa: F401 - fixtures
    GATEWAY,
    START_TIMEOUT_S,
    STORE,
    BleChain,
    ble_chain,
)
from tests.support.clock import wall_clock
from tests.support.outbox import open_rows_of
from tests.support.pipeline import publish_prices
from tests.support.waiting import until

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# Few attempts, and a timeout far longer than the test: every retry and the parking
# below are driven by the gateway's reports, not by the controller's timeout.
POLICY = RetryPolicy(
    ack_timeout=timedelta(minutes=10),
    base_delay=timedelta(milliseconds=200),
    max_delay=timedelta(seconds=1),
    max_attempts=2,
)


async def _start_controller(chain: BleChain) -> UpdateController:
    transport = controller_transport(parse_broker_url(chain.broker.url), reconnect_delay_s=(1, 2))
    await transport.start()
    controller = build_controller(
        controller_settings(
            Settings.defaults(), window=16, poll_every=timedelta(milliseconds=100), policy=POLICY
        ),
        gateway=transport,
        sessions=chain.sessions,
        clock=wall_clock,
        rng=random.Random(1),
    )
    chain.transport = transport
    chain.controller_stop = asyncio.Event()
    chain.controller_task = asyncio.create_task(controller.run(chain.controller_stop))
    return controller


async def _gateway_online(chain: BleChain) -> None:
    """Wait for the gateway's retained "online": its session then holds its subscription,
    so no frame is lost before it (the controller's timeout, far away here, would be
    the only thing to send it again)."""
    online = asyncio.Event()
    topic = topic_for(store=STORE, gateway=GATEWAY, kind=TopicKind.STATUS)

    def heard(message: IncomingMessage) -> None:
        status = decode_status(message.payload)
        if status is not None and status[0] is GatewayState.ONLINE:
            online.set()

    watcher = PahoConnection(
        parse_broker_url(chain.broker.url),
        client_id="test-status-watch",
        persistent_session=False,
        subscriptions=(topic,),
        on_message=heard,
    )
    await watcher.connect(timeout_s=30)
    try:
        async with asyncio.timeout(START_TIMEOUT_S):
            await online.wait()
    finally:
        await watcher.disconnect()


async def test_a_label_out_of_range_shows_the_gateways_reason_and_converges_when_back(
    ble_chain: BleChain,  # noqa: F811 - the fixture
) -> None:
    chain = ble_chain
    away, *others = list(chain.labels)
    chain.air.out_of_range(chain.labels[away].address)  # no connection to it comes up
    publish_prices(
        chain.sessions, {"MLK-1": "3.49", "CHS-1": "8.99", "CFE-1": "59.99"}, now=wall_clock()
    )
    # A connection on bumble's virtual link comes up in milliseconds: 3 s per attempt is
    # plenty on a loaded machine, and keeps "out of range" (4 attempts) within a minute.
    chain.start_gateway("--health-every", "1", "--connect-timeout", "3")
    await _gateway_online(chain)
    controller = await _start_controller(chain)

    def parked_by_the_gateway() -> bool:
        return any(row.status == OutboxStatus.PARKED for row in open_rows_of(chain.sessions, away))

    await until(
        parked_by_the_gateway,
        what="the away label parked by the gateway",
        timeout_s=START_TIMEOUT_S,
    )
    # The others converge meanwhile: panel == record == due.
    await until(
        lambda: not set(chain.mismatches()) - {away},
        what="every label but the away one converged",
        timeout_s=START_TIMEOUT_S,
    )
    due = chain.due()
    with chain.sessions() as session:
        states = {row.label_id: row for row in session.scalars(select(LabelStateRow))}
        conditions = {
            row.label_id: row.condition
            for row in label_conditions(session, now=wall_clock(), stores=[STORE])
        }
    for label_id in others:
        shown = chain.labels[label_id].label.shown_hash
        assert shown is not None
        assert states[label_id].displayed_hash == shown.hex()
        assert conditions[label_id].status is LabelStatus.UP_TO_DATE

    # The label out of range: its update parked as offline with the gateway's reason
    # (both attempts answered by the gateway's report, not by a timeout), nothing
    # counted as shown.
    [row] = open_rows_of(chain.sessions, away)
    assert (row.status, row.parked_reason) == (OutboxStatus.PARKED, ParkReason.OFFLINE)
    assert row.attempts == POLICY.max_attempts
    assert row.parked_detail is not None
    assert row.parked_detail.startswith("gateway: out of range after 4 attempts at ")
    condition = conditions[away]
    assert condition.status is LabelStatus.FAILED
    assert condition.offline
    assert condition.reason == f"offline: {row.parked_detail}"
    assert chain.labels[away].label.shown != due[away]
    assert states[away].displayed_hash is None
    assert states[away].last_seen is None  # the gateway's word is not the label's
    assert controller.dispatcher.counts.gateway_reports >= POLICY.max_attempts
    assert controller.dispatcher.counts.refused_reports == {}

    # Back in range: the gateway reaches it again (it tries only the labels it lost),
    # says so, the controller sends the update again and the label converges.
    chain.air.in_range(chain.labels[away].address)
    await chain.wait_converged()
    with chain.sessions() as session:
        state = session.get(LabelStateRow, away)
        assert state is not None
        shown = chain.labels[away].label.shown_hash
        assert shown is not None
        assert state.displayed_hash == shown.hex()
        # Battery, signal and last seen came from the label's own signed answer.
        assert state.rssi_dbm == chain.labels[away].label.rssi_dbm
        assert state.battery_mv
        assert state.last_seen is not None
        sampled = session.scalar(select(func.count()).where(LabelVitalsRow.label_id == away))
        assert sampled == 1
        [condition] = [
            row.condition for row in label_conditions(session, now=wall_clock(), label_ids=[away])
        ]
        assert (condition.status, condition.reason) == (LabelStatus.UP_TO_DATE, None)


async def test_malformed_and_foreign_reports_are_refused_and_record_nothing(
    ble_chain: BleChain,  # noqa: F811 - the fixture
) -> None:
    chain = ble_chain
    publish_prices(
        chain.sessions, {"MLK-1": "3.49", "CHS-1": "8.99", "CFE-1": "59.99"}, now=wall_clock()
    )
    controller = await _start_controller(chain)
    # No gateway runs: every update stays in flight, so a report naming one would count.
    label_id = next(iter(chain.labels))
    await until(
        lambda: any(
            row.status == OutboxStatus.SENT for row in open_rows_of(chain.sessions, label_id)
        ),
        what="an update in flight",
        timeout_s=START_TIMEOUT_S,
    )
    [before] = open_rows_of(chain.sessions, label_id)
    sequence = before.sequence
    report = GatewayReport(
        label_id=label_id,
        sequence=sequence,
        at=datetime.now(UTC),
        detail="out of range after 3 attempts",
        attempts=3,
    )
    genuine = encode_gateway_report(report)
    endpoint = parse_broker_url(chain.broker.url)
    # Whoever publishes on this store gateway's topic (with its login) and on another's.
    own = StoreGatewayClient(endpoint, store=STORE, gateway=GATEWAY, client_id="test-own")
    other = StoreGatewayClient(endpoint, store=STORE, gateway="S01-ble9", client_id="test-other")
    await own.start()
    await other.start()
    try:
        await own.publish_up(genuine[:-1])  # truncated
        detail_at = len(genuine) - len(report.detail)
        await own.publish_up(genuine[:detail_at] + b"\x07" + genuine[detail_at + 1 :])  # BEL
        flags_at = peek_header(genuine).size
        assert genuine[flags_at] == ReportFlag.NONE
        await own.publish_up(genuine[:flags_at] + b"\x80" + genuine[flags_at + 1 :])
        await own.publish_up(
            encode_gateway_report(
                GatewayReport(
                    label_id="S01-ble-9999", sequence=1, at=report.at, detail="out of range"
                )
            )
        )
        await own.publish_up(
            encode_gateway_report(
                GatewayReport(
                    label_id=label_id, sequence=sequence + 7, at=report.at, detail="out of range"
                )
            )
        )
        await other.publish_up(genuine)  # a label of S01-ble1, reported by S01-ble9

        refused = controller.dispatcher.counts.refused_reports
        await until(
            lambda: sum(refused.values()) == 6,
            what="six reports refused",
            timeout_s=START_TIMEOUT_S,
        )
        assert refused == {
            "malformed": 3,
            "unknown label": 1,
            "names no update in flight": 1,
            "label of another gateway": 1,
        }
        [after] = open_rows_of(chain.sessions, label_id)
        assert (after.status, after.attempts, after.parked_detail) == (
            before.status,
            before.attempts,
            None,
        )
        assert controller.dispatcher.counts.gateway_reports == 0

        # The same report from the label's own gateway is taken: retried now, with its reason.
        await own.publish_up(genuine)
        await until(
            lambda: controller.dispatcher.counts.gateway_reports == 1,
            what="the own gateway's report taken",
            timeout_s=START_TIMEOUT_S,
        )
        [taken] = open_rows_of(chain.sessions, label_id)
        words = f"gateway: out of range after 3 attempts at {report.at:%H:%M} UTC"
        assert taken.parked_detail == words
        with chain.sessions() as session:
            [condition] = [
                row.condition
                for row in label_conditions(session, now=wall_clock(), label_ids=[label_id])
            ]
        assert condition.status is LabelStatus.PENDING
        assert condition.reason == taken.parked_detail
    finally:
        await own.stop()
        await other.stop()
