"""Faults on the real chain: radio loss, labels out of range, crashes and restarts, forgeries."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import func, select

from esl.db.models import OutboxRow
from firmware_sim.faults import FaultPlan, RadioConditions
from gateways.mqtt.network_thread import stop_network_thread
from gateways.protocol import (
    encode_response,
    from_wire_ms,
)
from rendering.encoding import Planes
from tests.support.chain import Chain
from tests.support.clock import wall_clock
from tests.support.label_answers import synchronized_answer
from tests.support.pipeline import SKUS, expected_planes, publish_prices
from tests.support.waiting import until

pytestmark = pytest.mark.integration

FIRST = {"MLK-1": "3.49", "CHS-1": "8.99", "CFE-1": "59.99"}
SECOND = {"MLK-1": "2.99", "CHS-1": "7.49", "CFE-1": "54.99"}


def reference_planes(chain: Chain, *, at: datetime) -> dict[tuple[str, str], set[Planes]]:
    found: dict[tuple[str, str], set[Planes]] = {}
    with chain.sessions() as session:
        for site in chain.sites.values():
            for label_id in site.gateway.labels:
                key = (site.config.store, chain.bindings[label_id])
                if key not in found:
                    found[key] = {expected_planes(session, label_id=label_id, sku=key[1], at=at)}
    return found


def outbox_rows(chain: Chain) -> int:
    with chain.sessions() as session:
        return session.scalar(select(func.count()).select_from(OutboxRow)) or 0


def sent_rows(chain: Chain) -> int:
    """Outbox rows sent at least once (it only grows)."""
    with chain.sessions() as session:
        return (
            session.scalar(
                select(func.count()).select_from(OutboxRow).where(OutboxRow.attempts >= 1)
            )
            or 0
        )


async def _two_stores_showing(
    prices: dict[str, str], chain: Chain, *, labels: int, window: int
) -> None:
    """`prices` published; stores S01 and S02 with `labels` labels each and their gateways
    running; the controller (`window` frames in flight at most) brought every label there."""
    publish_prices(chain.sessions, prices, now=wall_clock())
    for store in ("S01", "S02"):
        chain.add_store(store, labels=labels)
        await chain.start_gateway(store)
    await chain.start_controller(window=window)
    await chain.wait_converged(wall_clock())


async def test_loss_and_labels_out_of_range_converge_without_a_wrong_price(chain: Chain) -> None:
    publish_prices(chain.sessions, FIRST, now=wall_clock())
    faults = FaultPlan(
        seed=11,
        radio=RadioConditions(loss_rate=0.10, latency_ms=20, jitter_ms=40),
        offline_rate=0.05,
        offline_after_s=0,
        offline_for_s=40,  # two seconds of test time at the simulator's speed
    )
    for store in ("S01", "S02"):
        chain.add_store(store, labels=20, faults=faults)
        await chain.start_gateway(store)
    assert any(site.gateway.offline_label_ids for site in chain.sites.values())
    await chain.start_controller()
    await chain.wait_converged(wall_clock())
    allowed = reference_planes(chain, at=wall_clock())
    publish_prices(chain.sessions, SECOND, now=wall_clock())
    for key, planes in reference_planes(chain, at=wall_clock()).items():
        allowed[key] |= planes

    # Whatever moment we look, every label shows its old or its new published price.
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline:
        for site in chain.sites.values():
            for label_id, label in site.gateway.labels.items():
                key = (site.config.store, chain.bindings[label_id])
                assert label.shown in allowed[key], f"{label_id} shows a price never published"
        if chain.converged(wall_clock()) and chain.open_rows() == 0:
            break
        await asyncio.sleep(0.1)
    await chain.wait_converged(wall_clock(), timeout_s=1)
    stats = [site.gateway.stats for site in chain.sites.values()]
    assert sum(s.check_ins_missed for s in stats) > 0  # the faults really happened


async def test_a_controller_killed_mid_publication_converges_after_restart(chain: Chain) -> None:
    await _two_stores_showing(FIRST, chain, labels=15, window=2)
    sent_before = sent_rows(chain)
    publish_prices(chain.sessions, SECOND, now=wall_clock())
    # Once frames of the change are on the air, kill it without any clean-up.
    await until(
        lambda: sent_rows(chain) > sent_before, what="a frame of the change sent", timeout_s=30
    )
    await chain.stop_controller(crash=True)
    assert chain.open_rows() > 0
    await chain.start_controller(seed=2)
    await chain.wait_converged(wall_clock())
    with chain.sessions() as session:
        statuses = dict(
            session.execute(select(OutboxRow.status, func.count()).group_by(OutboxRow.status)).all()
        )
    assert statuses.get("acked", 0) >= 60  # 30 first images, 30 changes, none lost


async def test_a_broker_and_a_gateway_restart_mid_run_converge(chain: Chain) -> None:
    await _two_stores_showing(FIRST, chain, labels=12, window=3)
    publish_prices(chain.sessions, SECOND, now=wall_clock())
    while chain.open_rows() == 0:
        await asyncio.sleep(0.02)
    chain.mosquitto.restart()
    await chain.stop_gateway("S02")
    chain.sites["S02"].reload_labels(now=wall_clock())
    await chain.start_gateway("S02")
    await chain.wait_converged(wall_clock(), timeout_s=60)


async def test_republishing_the_same_prices_sends_nothing(chain: Chain) -> None:
    publish_prices(chain.sessions, FIRST, now=wall_clock())
    chain.add_store("S01", labels=6)
    await chain.start_gateway("S01")
    await chain.start_controller()
    await chain.wait_converged(wall_clock())
    before = outbox_rows(chain)
    # A store-scoped rule at the same amount: a new publication, the same shelf.
    publish_prices(chain.sessions, FIRST, now=wall_clock(), store="S01")
    controller = chain.controller
    assert controller is not None
    # Stopped first, so this test is the only planner: whether the running controller
    # planned the publication already or this call does, it writes no frame.
    await chain.stop_controller()
    assert controller.plan_due_work() == 0
    assert outbox_rows(chain) == before


async def test_a_forged_acknowledgement_from_a_rogue_client_is_ignored(chain: Chain) -> None:
    publish_prices(chain.sessions, FIRST, now=wall_clock())
    site = chain.add_store("S01", labels=3)
    await chain.start_controller()  # the gateway is not running: nothing can really answer
    await until(lambda: sent_rows(chain) == 3, what="the 3 frames sent", timeout_s=30)
    label_id = sorted(site.gateway.labels)[0]
    with chain.sessions() as session:
        sequence = session.scalar(select(OutboxRow.sequence).where(OutboxRow.label_id == label_id))
    assert sequence is not None
    forged = synchronized_answer(label_id, sequence, label_time=from_wire_ms(1_800_000_000_000))
    rogue = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id="rogue")
    rogue.connect(chain.broker.host, chain.broker.port)
    rogue.loop_start()
    try:
        payload = encode_response(forged, key=bytes(32))  # any key but the label's
        rogue.publish("esl/v1/S01/gwS01/up", payload, qos=1).wait_for_publish(5)
    finally:
        rogue.disconnect()
        stop_network_thread(rogue)
    assert chain.controller is not None
    verifier = chain.controller.dispatcher.verifier
    deadline = time.monotonic() + 5
    while verifier.counts.forged == 0 and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert verifier.counts.forged == 1
    with chain.sessions() as session:
        acked = session.scalar(
            select(func.count()).select_from(OutboxRow).where(OutboxRow.status == "acked")
        )
    assert acked == 0
    # The real gateway then delivers, and the real answers are believed.
    await chain.start_gateway("S01")
    await chain.wait_converged(wall_clock())
    assert all(chain.bindings[label] in SKUS for label in site.gateway.labels)
