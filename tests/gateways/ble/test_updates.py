"""Label updates through the real driver and bleak client against simulated BLE labels."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import numpy as np
import pytest

from gateways.base import (
    Gateway,
    GatewayStatus,
    TransportKind,
    TransportStatus,
    Uplink,
    gateway_class,
)
from gateways.ble.control_point import (
    BasicState,
    DisplayImage,
    DisplayState,
    DisplayTimedImage,
    LedControl,
    LedState,
    Unassociate,
    absolute_time_of,
)
from gateways.ble.driver import BleGateway
from gateways.ble.errors import UnknownLabelError
from gateways.ble.esl_service import BasicStateFlag
from gateways.errors import GatewayNotStartedError
from gateways.protocol import (
    FlashLed,
    ImageEncoding,
    LabelState,
    LedColour,
    LedPattern,
    ReasonCode,
    SwitchPage,
    build_image_update,
    decode_response,
)
from gateways.protocol import Unassociate as UnassociateFrame
from rendering.encoding import image_from_planes
from rendering.render import render_label
from tests.gateways.ble.ble_store import (
    MODEL,
    BleStore,
    key_of,
    label_id_of,
    make_store,
    reference_planes,
)
from tests.rendering.label_samples import PLAIN, PROMOTION

# Long enough for a three-colour refresh to finish before the next update.
AFTER_REFRESH = timedelta(seconds=20)


def _signed_reason(store: BleStore, gateway: BleGateway, index: int) -> ReasonCode:
    signed = gateway.deliveries[label_id_of(index)].signed_response
    assert signed is not None
    return decode_response(signed, key=key_of(label_id_of(index))).reason


def test_the_registry_resolves_ble_to_this_driver() -> None:
    driver = gateway_class(TransportKind.BLE)
    assert driver is BleGateway
    assert issubclass(driver, Gateway)


async def test_a_full_update_shows_exactly_the_reference_render() -> None:
    store = make_store(1)
    planes = reference_planes(PROMOTION)
    async with store.gateway(1) as gateway:
        await gateway.send(store.frame(1, build_image_update(planes, model_id=MODEL.id)))

    label = store.label(1).label
    assert label.shown == planes
    shown = np.asarray(image_from_planes(label.shown, palette=MODEL.palette))
    assert np.array_equal(shown, np.asarray(render_label(PROMOTION, model=MODEL)))
    delivery = gateway.deliveries[label_id_of(1)]
    assert delivery.command == DisplayImage(esl_id=1, image=0)
    assert delivery.response == DisplayState(display=0, image=0)
    assert _signed_reason(store, gateway, 1) is ReasonCode.SUCCESS


async def test_the_signed_response_reaches_the_event_stream_as_an_uplink() -> None:
    store = make_store(1)
    gateway = store.gateway(1)
    await gateway.start()
    await gateway.send(
        store.frame(1, build_image_update(reference_planes(PLAIN), model_id=MODEL.id))
    )
    await gateway.stop()

    events = [event async for event in gateway.events()]

    assert [type(event) for event in events] == [TransportStatus, GatewayStatus, Uplink]
    uplink = events[-1]
    assert isinstance(uplink, Uplink)
    assert (uplink.store, uplink.gateway, uplink.received_at) == ("S001", "ble0", store.clock())
    response = decode_response(uplink.payload, key=key_of(label_id_of(1)))
    assert (response.label_id, response.sequence, response.reason) == (
        label_id_of(1),
        1,
        ReasonCode.SUCCESS,
    )


async def test_a_delta_update_sends_fewer_bytes_and_lands_on_the_new_image() -> None:
    store = make_store(1)
    # A price change, what deltas are for (a promotion's first day may move whole regions).
    before = reference_planes(PLAIN)
    after = reference_planes(replace(PLAIN, price=Decimal("6.99"), unit_price=Decimal("34.95")))
    async with store.gateway(1) as gateway:
        await gateway.send(store.frame(1, build_image_update(before, model_id=MODEL.id)))
        full_bytes = store.air.counters.bytes_on_air
        store.clock.advance(AFTER_REFRESH)
        update = build_image_update(after, model_id=MODEL.id, base=before)
        assert update.encoding is ImageEncoding.DELTA
        await gateway.send(store.frame(1, update))

    delta_bytes = store.air.counters.bytes_on_air - full_bytes
    assert delta_bytes < full_bytes
    assert store.label(1).label.shown == after
    assert _signed_reason(store, gateway, 1) is ReasonCode.SUCCESS


async def test_a_timed_image_flips_at_the_instant_and_not_before() -> None:
    store = make_store(1)
    planes = reference_planes(PROMOTION)
    at = store.clock() + timedelta(minutes=10)
    async with store.gateway(1) as gateway:
        update = build_image_update(planes, model_id=MODEL.id, page=1, display_at=at)
        await gateway.send(store.frame(1, update))

    delivery = gateway.deliveries[label_id_of(1)]
    assert delivery.command == DisplayTimedImage(
        esl_id=1, image=1, absolute_time=absolute_time_of(at)
    )
    assert isinstance(delivery.response, BasicState)
    assert BasicStateFlag.PENDING_DISPLAY_UPDATE in delivery.response.flags
    label = store.label(1).label
    store.clock.advance(timedelta(minutes=10) - timedelta(milliseconds=1))
    label.state(now=store.clock())
    assert label.shown is None
    store.clock.advance(timedelta(milliseconds=1))
    label.state(now=store.clock())
    assert (label.shown, label.shown_page) == (planes, 1)


async def test_a_page_switch_shows_a_stored_image_without_sending_it_again() -> None:
    store = make_store(1)
    first, second = reference_planes(PLAIN), reference_planes(PROMOTION)
    async with store.gateway(1) as gateway:
        await gateway.send(store.frame(1, build_image_update(second, model_id=MODEL.id, page=2)))
        store.clock.advance(AFTER_REFRESH)
        await gateway.send(store.frame(1, build_image_update(first, model_id=MODEL.id)))
        store.clock.advance(AFTER_REFRESH)
        await gateway.send(store.frame(1, SwitchPage(page=2)))

    assert store.label(1).label.shown == second
    assert gateway.deliveries[label_id_of(1)].response == DisplayState(display=0, image=2)


async def test_led_control_from_a_signed_frame_and_from_a_shop_assistant() -> None:
    store = make_store(2)
    async with store.gateway(2) as gateway:
        flash = FlashLed(colour=LedColour.GREEN, pattern=LedPattern.BLINK, duration_s=30)
        await gateway.send(store.frame(1, flash))
        found = await gateway.flash_led(label_id_of(2), duration_s=5)
        state = await gateway.ping(label_id_of(2))

    delivery = gateway.deliveries[label_id_of(1)]
    assert isinstance(delivery.command, LedControl)
    assert delivery.command.duration_s == 30
    assert delivery.response == LedState(0)
    assert _signed_reason(store, gateway, 1) is ReasonCode.SUCCESS
    assert found == LedState(0)
    assert BasicStateFlag.ACTIVE_LED in state.flags
    store.clock.advance(timedelta(seconds=6))
    async with store.gateway(2) as gateway:
        assert BasicStateFlag.ACTIVE_LED not in (await gateway.ping(label_id_of(2))).flags


async def test_refresh_display_redraws_what_the_label_shows() -> None:
    store = make_store(1)
    async with store.gateway(1) as gateway:
        await gateway.send(
            store.frame(1, build_image_update(reference_planes(PLAIN), model_id=MODEL.id))
        )
        assert await gateway.refresh_display(label_id_of(1)) == DisplayState(display=0, image=0)
    assert store.label(1).display_refreshes == 1


async def test_unassociate_needs_a_signed_frame_and_then_the_label_advertises_again() -> None:
    store = make_store(1)
    async with store.gateway(1) as gateway:
        await gateway.send(store.frame(1, UnassociateFrame()))

    assert gateway.deliveries[label_id_of(1)].command == Unassociate(1)
    assert _signed_reason(store, gateway, 1) is ReasonCode.SUCCESS
    assert store.label(1).label.state(now=store.clock()) is LabelState.UNASSOCIATED
    assert [found.address for found in await store.air.discover()] == [store.label(1).address]


async def test_no_more_labels_are_connected_at_once_than_the_adapter_allows() -> None:
    store = make_store(6)
    planes = reference_planes(PLAIN)
    async with store.gateway(6, max_connections=2) as gateway:
        await asyncio.gather(
            *(
                gateway.send(store.frame(i, build_image_update(planes, model_id=MODEL.id)))
                for i in range(1, 7)
            )
        )
    assert store.air.counters.most_open_links == 2
    assert store.air.counters.open_links == 0
    assert all(store.label(i).label.shown == planes for i in range(1, 7))


async def test_sending_before_start_or_to_an_unknown_label_is_a_gateway_error() -> None:
    store = make_store(1)
    gateway = store.gateway(1)
    frame = store.frame(1, SwitchPage(page=0))
    with pytest.raises(GatewayNotStartedError):
        await gateway.send(frame)
    async with gateway:
        with pytest.raises(UnknownLabelError):
            await gateway.send(store.frame(2, SwitchPage(page=0)))
