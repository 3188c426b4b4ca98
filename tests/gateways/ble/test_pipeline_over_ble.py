"""The update pipeline drives BLE labels with the same code it drives MQTT labels with:
plan, send, verify the signed answer, confirm what the shelf shows, record refusals."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine, select

from esl.composition import build_controller, controller_settings
from esl.db.console_models import LabelActionRow
from esl.db.engine import session_factory
from esl.db.models import LabelStateRow, OutboxRow
from esl.settings import Settings
from firmware_sim.ble import BleLabel, ble_store, simulated_client_factory
from firmware_sim.fleet import build_labels, make_fleet
from firmware_sim.images import ImageStore
from gateways.ble.driver import BleGateway
from gateways.protocol import ReasonCode
from rendering.encoding import content_hash
from tests.gateways.ble.ble_store import FAST
from tests.support.clock import Clock
from tests.support.outbox import outbox_by_label
from tests.support.pipeline import expected_planes, publish_prices, register_and_bind

STORE, GATEWAY = "S01", "ble0"


class BleShop:
    """Three BLE labels bound to one product, a controller, and the BLE driver."""

    def __init__(self, engine: Engine) -> None:
        self.clock = Clock(now=Clock().now.replace(year=2027))
        self.sessions = session_factory(engine)
        provisions = make_fleet(store=STORE, gateway=GATEWAY, count=3)
        labels = build_labels(provisions, now=self.clock.now, images=ImageStore())
        keys = {provision.label_id: provision.key for provision in provisions}
        self.air, addresses = ble_store(labels, keys=keys, clock=self.clock)
        self.ble: dict[str, BleLabel] = {ble.label_id: ble for ble in self.air.labels}
        with self.sessions.begin() as session:
            register_and_bind(
                session,
                provisions,
                store=STORE,
                gateway=GATEWAY,
                skus=["MLK-1"],
                now=self.clock.now,
            )
        self.gateway = BleGateway(
            addresses,
            store=STORE,
            gateway=GATEWAY,
            client_factory=simulated_client_factory(self.air),
            connect_policy=FAST,
            clock=self.clock,
        )
        self.controller = build_controller(
            controller_settings(Settings.defaults(), window=8),
            gateway=self.gateway,
            sessions=self.sessions,
            clock=self.clock,
            rng=random.Random(3),
        )

    async def run_until(self, done: Callable[[], bool]) -> None:
        """Run the controller with the BLE driver until `done()` or 10 s."""
        stop = asyncio.Event()
        async with self.gateway:
            running = asyncio.create_task(self.controller.run(stop))
            for _ in range(500):
                if done() or running.done():
                    break
                await asyncio.sleep(0.02)
            stop.set()
            await running

    def statuses(self) -> dict[str, list[str]]:
        return {
            label_id: [
                status if parked is None else f"{status} ({parked})" for _, status, parked in rows
            ]
            for label_id, rows in outbox_by_label(self.sessions).items()
        }

    def assert_both_prices_acknowledged_and_shown(self) -> None:
        """Each label acknowledged two frames and its panel shows the price due now."""
        assert self.statuses() == {label_id: ["acked", "acked"] for label_id in self.ble}
        with self.sessions() as session:
            for label_id, ble in self.ble.items():
                planes = expected_planes(session, label_id=label_id, sku="MLK-1", at=self.clock.now)
                assert ble.label.shown == planes, label_id

    def settled(self) -> bool:
        statuses = self.statuses()
        return len(statuses) == len(self.ble) and all(
            not any(s in ("pending", "sent") for s in rows) for rows in statuses.values()
        )


@pytest.fixture
def shop(engine: Engine) -> BleShop:
    shop = BleShop(engine)
    publish_prices(shop.sessions, {"MLK-1": "3.49"}, now=shop.clock.now)
    return shop


async def test_the_pipeline_updates_ble_labels_and_confirms_what_they_show(shop: BleShop) -> None:
    await shop.run_until(shop.settled)

    assert shop.statuses() == {label_id: ["acked"] for label_id in shop.ble}
    with shop.sessions() as session:
        for label_id, ble in shop.ble.items():
            planes = expected_planes(session, label_id=label_id, sku="MLK-1", at=shop.clock.now)
            assert ble.label.shown == planes
            state = session.get(LabelStateRow, label_id)
            assert state is not None
            assert state.confirmed_hash == state.displayed_hash == content_hash(planes).hex()


async def test_an_esl_error_from_a_ble_label_parks_the_update_with_its_reason(
    shop: BleShop,
) -> None:
    refusing = sorted(shop.ble)[1]
    shop.ble[refusing].faults.refuse_next = ReasonCode.IMAGE_NOT_AVAILABLE

    await shop.run_until(shop.settled)

    statuses = shop.statuses()
    assert statuses[refusing] == ["parked (rejected: IMAGE_NOT_AVAILABLE)"]
    assert all(statuses[other] == ["acked"] for other in shop.ble if other != refusing)
    assert shop.ble[refusing].label.shown is None


async def test_a_change_that_meets_a_refreshing_panel_waits_for_it_instead_of_giving_up(
    shop: BleShop,
) -> None:
    def answered_busy() -> bool:
        with shop.sessions() as session:
            rows = session.execute(
                select(OutboxRow.status, OutboxRow.attempts).where(OutboxRow.sequence > 1)
            ).all()
        return len(rows) == len(shop.ble) and all(
            status == "pending" and attempts == 1 for status, attempts in rows
        )

    async def until(done: Callable[[], bool]) -> None:
        for _ in range(500):
            if done():
                return
            await asyncio.sleep(0.02)

    stop = asyncio.Event()
    async with shop.gateway:
        running = asyncio.create_task(shop.controller.run(stop))
        await until(shop.settled)
        # The panels are refreshing (15 s on a 2.9" three-colour label) when the next
        # price arrives a second later: every label answers "busy".
        shop.clock.advance(timedelta(seconds=1))
        publish_prices(shop.sessions, {"MLK-1": "2.99"}, now=shop.clock.now)
        await until(answered_busy)
        assert answered_busy()
        with shop.sessions() as session:
            due = session.scalars(select(OutboxRow.not_before).where(OutboxRow.sequence > 1))
            # Not asked again before the panel can have finished, and not given up on.
            assert all(when - shop.clock.now >= timedelta(seconds=15) for when in due)
        shop.clock.advance(timedelta(seconds=30))
        await until(shop.settled)
        stop.set()
        await running

    shop.assert_both_prices_acknowledged_and_shown()


async def test_labels_without_a_price_change_for_hours_still_take_the_next_one(
    shop: BleShop,
) -> None:
    # A BLE label forgets its key two hours after its last valid message (ESL Service
    # timeouts), and nothing but a frame reaches it between price changes: the controller
    # pings every label it has not heard from for 45 minutes.
    def answered_pings_since(at: datetime) -> int:
        with shop.sessions() as session:
            return len(
                session.scalars(
                    select(LabelActionRow).where(
                        LabelActionRow.requested_at >= at,
                        LabelActionRow.action == "ping",
                        LabelActionRow.status == "answered",
                    )
                ).all()
            )

    async def until(done: Callable[[], bool], what: str) -> None:
        for _ in range(500):
            if done():
                return
            await asyncio.sleep(0.02)
            shop.clock.advance(timedelta(milliseconds=100))  # time passes for the controller
        # 500 steps of 100 ms of the controller's clock: 50 s.
        raise AssertionError(f"not within 50 s: {what}; outbox {shop.statuses()}")

    stop = asyncio.Event()
    async with shop.gateway:
        running = asyncio.create_task(shop.controller.run(stop))
        try:
            await until(shop.settled, "the first price on every label")
            for _ in range(3):  # two hours and a half without a price change
                shop.clock.advance(timedelta(minutes=50))
                quiet_since = shop.clock.now
                await until(
                    lambda at=quiet_since: answered_pings_since(at) == len(shop.ble),
                    "every silent label pinged and answering",
                )
            assert all(ble.label.associated for ble in shop.ble.values())
            publish_prices(shop.sessions, {"MLK-1": "2.99"}, now=shop.clock.now)
            # Acknowledged, not only settled: a frame parked or held on the way (a label
            # still busy answering its ping) is sent again, and must land.
            both_acked = {label_id: ["acked", "acked"] for label_id in shop.ble}
            await until(lambda: shop.statuses() == both_acked, "the new price acknowledged")
        finally:
            stop.set()
            await running
    shop.assert_both_prices_acknowledged_and_shown()
