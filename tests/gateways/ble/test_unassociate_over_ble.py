"""Unassociating a BLE label reaches the label: the controller has its panel show its
not-in-use (identification) screen, sends it a signed Unassociate through the BLE driver,
and forgets its key only once the label confirmed. Before, the controller forgot the key
and told the label nothing: the panel kept showing a price nobody maintained, and the
label kept its old key for up to two hours."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import Engine, func, select

from esl.audit.classify import AuditClass, LabelVerdict
from esl.db.ble_models import BleLabelInventoryRow
from esl.db.console_models import LabelActionRow
from esl.db.models import LabelRow, OutboxRow
from esl.services.ble_inventory import (
    record_ble_association,
    record_ble_associations,
    unassociate_ble_label,
)
from esl.services.keys import Principal, Role
from esl.services.label_retirement import retire_label
from esl.services.labels import bind_label
from firmware_sim.ble import simulated_client_factory
from gateways.ble.association import associate_label
from gateways.ble.inventory import DisplayInformation, LabelInventoryRecord
from gateways.protocol import LabelState
from rendering.display_models import get_display_model
from rendering.encoding import image_from_planes
from tests.gateways.ble.ble_store import FAST
from tests.gateways.ble.test_pipeline_over_ble import STORE, BleShop
from tests.rendering.identification_checks import qr_region_encodes
from tests.support.audit import audit_by_label
from tests.support.pipeline import expected_planes, publish_prices

STAFF = Principal(name="store-key", role=Role.STORE, store=STORE)


@pytest.fixture
def shop(engine: Engine) -> BleShop:
    shop = BleShop(engine)
    publish_prices(shop.sessions, {"MLK-1": "3.49"}, now=shop.clock.now)
    with shop.sessions.begin() as session:
        for ble in shop.ble.values():
            record_ble_association(
                session,
                label_id=ble.label_id,
                gateway=shop.gateway.gateway,
                record=_inventory_record(shop, ble.label_id),
                now=shop.clock.now,
            )
    return shop


def _inventory_record(shop: BleShop, label_id: str) -> LabelInventoryRecord:
    ble = shop.ble[label_id]
    assert ble.esl_address is not None
    model = get_display_model("2.9-bwr")
    return LabelInventoryRecord(
        address=ble.address,
        esl_address=ble.esl_address,
        displays=(DisplayInformation(model.width, model.height, 2),),
        max_image_index=3,
        leds=(),
        associated_at=shop.clock.now,
    )


@asynccontextmanager
async def _running(shop: BleShop) -> AsyncIterator[None]:
    """The controller with the BLE driver, for the block."""
    stop = asyncio.Event()
    async with shop.gateway:
        running = asyncio.create_task(shop.controller.run(stop))
        try:
            yield
        finally:
            stop.set()
            await running


async def _until(shop: BleShop, done: Callable[[], bool], what: str) -> None:
    for _ in range(600):
        if done():
            return
        await asyncio.sleep(0.02)
        shop.clock.advance(timedelta(milliseconds=200))  # time passes for the controller
    raise AssertionError(f"not within 12 s: {what}")


def _ended(shop: BleShop, action_id: int) -> Callable[[], bool]:
    return lambda: _action(shop, action_id).status not in ("requested", "sent")


def _action(shop: BleShop, action_id: int) -> LabelActionRow:
    with shop.sessions() as session:
        action = session.get(LabelActionRow, action_id)
        assert action is not None
        session.expunge(action)
        return action


def _unassociate(shop: BleShop, label_id: str) -> int:
    with shop.sessions.begin() as session:
        action = unassociate_ble_label(
            session, principal=STAFF, store=STORE, label_id=label_id, now=shop.clock.now
        )
        return action.id


def _shows_identification(shop: BleShop, label_id: str) -> bool:
    shown = shop.ble[label_id].label.shown
    if shown is None:
        return False
    model = get_display_model("2.9-bwr")
    pixels = np.asarray(image_from_planes(shown, palette=model.palette))
    return qr_region_encodes(pixels, model, label_id)


async def test_the_label_shows_no_price_forgets_its_key_and_then_the_controller_does(
    shop: BleShop,
) -> None:
    leaving, *staying = sorted(shop.ble)
    async with _running(shop):
        await _until(shop, shop.settled, "the price on every label")
        with shop.sessions() as session:
            price = expected_planes(session, label_id=leaving, sku="MLK-1", at=shop.clock.now)
            old_key = bytes(session.get(LabelRow, leaving).secret_key)  # type: ignore[union-attr]
        assert shop.ble[leaving].label.shown == price

        action_id = _unassociate(shop, leaving)
        assert _action(shop, action_id).status == "requested"  # nothing forgotten yet
        await _until(shop, _ended(shop, action_id), "the label's answer")

    action = _action(shop, action_id)
    assert (action.status, action.reason) == ("answered", "SUCCESS"), action.detail
    # The shelf: the panel shows the label's identification screen, not the price ...
    label = shop.ble[leaving]
    assert label.label.shown != price
    assert _shows_identification(shop, leaving)
    # ... and the device is unassociated: no key, no ESL address, advertising again.
    assert label.label.state(now=shop.clock.now) is LabelState.UNASSOCIATED
    assert label.esl_address is None
    assert label.advertises_esl_service(now=shop.clock.now)
    # The controller: the key and inventory row forgotten once the label confirmed.
    with shop.sessions() as session:
        assert session.get(BleLabelInventoryRow, leaving) is None
        row = session.get(LabelRow, leaving)
        assert row is not None
        assert row.gateway is None
        assert bytes(row.secret_key) != old_key
        assert session.get(BleLabelInventoryRow, staying[0]) is not None
    # The other labels keep their price.
    for other in staying:
        assert shop.ble[other].label.state(now=shop.clock.now) is not LabelState.UNASSOCIATED
        assert shop.ble[other].label.shown == price


async def test_a_label_out_of_reach_stays_associated_and_the_operator_is_told(
    shop: BleShop,
) -> None:
    leaving = sorted(shop.ble)[0]
    async with _running(shop):
        await _until(shop, shop.settled, "the price on every label")
        with shop.sessions() as session:
            old_key = bytes(session.get(LabelRow, leaving).secret_key)  # type: ignore[union-attr]
        shop.ble[leaving].faults.refuse_connections = 1_000_000  # its radio reaches nobody

        action_id = _unassociate(shop, leaving)
        await _until(shop, _ended(shop, action_id), "an outcome")

    action = _action(shop, action_id)
    assert action.status == "unanswered"
    assert action.detail is not None
    assert "not confirmed" in action.detail
    assert "--force" in action.detail
    with shop.sessions() as session:
        # Not forgotten: the controller can still reach and sign for it once it is back.
        assert session.get(BleLabelInventoryRow, leaving) is not None
        row = session.get(LabelRow, leaving)
        assert row is not None
        assert bytes(row.secret_key) == old_key
        actions = session.scalars(
            select(LabelActionRow.action).where(LabelActionRow.label_id == leaving)
        ).all()
        assert "unassociate" in actions


async def test_a_label_already_showing_its_screen_is_sent_it_again_then_unassociated(
    shop: BleShop,
) -> None:
    from esl.db.models import LabelBindingRow

    leaving = sorted(shop.ble)[0]
    async with _running(shop):
        await _until(shop, shop.settled, "the price on every label")
        with shop.sessions.begin() as session:
            binding = session.scalars(
                select(LabelBindingRow).where(
                    LabelBindingRow.label_id == leaving, LabelBindingRow.unbound_at.is_(None)
                )
            ).one()
            binding.unbound_at = shop.clock.now
        await _until(shop, lambda: _shows_identification(shop, leaving), "its screen")
        await _until(shop, shop.settled, "the screen confirmed")

        action_id = _unassociate(shop, leaving)
        await _until(shop, _ended(shop, action_id), "the label's answer")

    action = _action(shop, action_id)
    assert (action.status, action.reason) == ("answered", "SUCCESS"), action.detail
    assert _shows_identification(shop, leaving)
    with shop.sessions() as session:
        assert session.get(BleLabelInventoryRow, leaving) is None


async def _forget_out_of_reach(shop: BleShop) -> tuple[str, datetime]:
    """With the controller running: every label shows 3.49; the first, out of reach, is
    unassociated with --force and three hours pass (the device forgets its key too).
    (that label, when forced)"""
    leaving = sorted(shop.ble)[0]
    await _until(shop, shop.settled, "the price on every label")
    shop.ble[leaving].faults.refuse_connections = 1_000_000
    with shop.sessions.begin() as session:
        unassociate_ble_label(
            session, principal=STAFF, store=STORE, label_id=leaving, now=shop.clock.now, force=True
        )
    forced_at = shop.clock.now
    await asyncio.sleep(0.2)
    shop.clock.advance(timedelta(hours=3))
    return leaving, forced_at


async def test_a_label_forgotten_without_the_device_is_listed_while_it_shows_a_price(
    shop: BleShop,
) -> None:
    # Forced, the controller forgot the key, but an e-paper panel keeps its last image
    # without power or contact: the device still shows its price, which nobody
    # maintains any more. Before, the forced unassociation also forgot what the label
    # last reported, and the audit listed nothing.
    async with _running(shop):
        leaving, forced_at = await _forget_out_of_reach(shop)
    price = shop.ble[sorted(shop.ble)[1]].label.shown

    assert shop.ble[leaving].label.state(now=shop.clock.now) is LabelState.UNASSOCIATED
    assert shop.ble[leaving].label.shown == price, "the panel keeps the price"
    verdict = _audit(shop)[leaving]
    assert verdict.audit_class is AuditClass.UNBOUND_SHOWING_PRICE, verdict.reason
    assert (verdict.sku, str(verdict.shown_price)) == ("MLK-1", "3.49")
    assert verdict.wrong_since == forced_at
    assert "bound to no product" in verdict.reason

    # Thrown away: retiring it says so, and the audit stops listing it.
    with shop.sessions.begin() as session:
        retire_label(session, principal=STAFF, label_id=leaving, now=shop.clock.now)
    assert leaving not in _audit(shop)


async def test_a_forgotten_label_associated_again_is_sent_its_price_again(
    shop: BleShop,
) -> None:
    # A label forgotten without the device keeps its old key, so it is associated again
    # only after its key timed out or a reset. What it reported under its old
    # association proves nothing of the device now: bound again to the same product,
    # it is sent its whole image and must confirm it. Before, the controller took the
    # price as already shown (the panel's last report) and sent nothing.
    async with _running(shop):
        leaving, _ = await _forget_out_of_reach(shop)
        shop.ble[leaving].faults.refuse_connections = 0
        with shop.sessions() as session:
            label = session.get(LabelRow, leaving)
            assert label is not None
            key = bytes(label.secret_key)
        ble = shop.ble[leaving]
        assert ble.esl_address is not None
        record = await associate_label(  # a kit, through the real association code
            ble.address,
            esl_address=ble.esl_address,
            label_key=key,
            at=shop.clock.now,
            client_factory=simulated_client_factory(shop.air),
            policy=FAST,
        )
        with shop.sessions.begin() as session:
            record_ble_associations(
                session,
                store=STORE,
                gateway=shop.gateway.gateway,
                records={leaving: record},
                now=shop.clock.now,
            )
            bind_label(
                session,
                principal=STAFF,
                label_id=leaving,
                sku="MLK-1",
                template="standard",
                now=shop.clock.now,
            )
            sent_before = session.scalar(select(func.max(OutboxRow.id)))

        def frames() -> list[tuple[str, str | None]]:
            with shop.sessions() as session:
                rows = session.execute(
                    select(OutboxRow.status, OutboxRow.base_hash).where(
                        OutboxRow.label_id == leaving, OutboxRow.id > sent_before
                    )
                )
                return [(status, base) for status, base in rows]

        await _until(shop, lambda: ("acked", None) in frames(), "its price acknowledged")

    assert frames() == [("acked", None)], "one whole image, acknowledged"
    assert shop.ble[leaving].label.shown == shop.ble[sorted(shop.ble)[1]].label.shown
    assert _audit(shop)[leaving].audit_class is AuditClass.MATCH


def _audit(shop: BleShop) -> dict[str, LabelVerdict]:
    return audit_by_label(shop.sessions, shop.clock.now)
