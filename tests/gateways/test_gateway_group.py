"""One controller, several transports: a group routes each frame and merges what comes back."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from gateways.base import Downlink, GatewayEvent, Uplink
from gateways.group import GatewayGroup, UnroutableDownlinkError
from tests.pipeline.in_memory_gateway import InMemoryGateway

AT = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


class CountingGateway(InMemoryGateway):
    def __init__(self) -> None:
        super().__init__()
        self.starts = 0

    async def start(self) -> None:
        self.starts += 1

    def answer(self, uplink: Uplink) -> None:
        self._events.put_nowait(uplink)


async def _collect(group: GatewayGroup, count: int) -> list[GatewayEvent]:
    events: list[GatewayEvent] = []
    async for event in group.events():
        events.append(event)
        if len(events) == count:
            break
    return events


async def test_each_frame_goes_to_the_transport_of_its_store_gateway() -> None:
    mqtt, ble = CountingGateway(), CountingGateway()
    # One broker driver serves two store gateways; a BLE adapter serves a third.
    group = GatewayGroup({("S1", "gw1"): mqtt, ("S2", "gw1"): mqtt, ("S3", "ble0"): ble})
    await group.start()
    await group.send(Downlink("S1", "gw1", "L1", b"a"))
    await group.send(Downlink("S2", "gw1", "L2", b"b"))
    await group.send(Downlink("S3", "ble0", "L3", b"c"))
    assert [d.label_id for d in mqtt.sent] == ["L1", "L2"]
    assert [d.label_id for d in ble.sent] == ["L3"]
    assert (mqtt.starts, ble.starts) == (1, 1)
    assert group.max_in_flight == mqtt.max_in_flight + ble.max_in_flight
    await group.stop()


async def test_a_frame_for_a_gateway_nobody_serves_is_refused_with_its_address() -> None:
    group = GatewayGroup({("S1", "gw1"): CountingGateway()})
    await group.start()
    with pytest.raises(UnroutableDownlinkError) as refused:
        await group.send(Downlink("S9", "gw1", "L1", b"a"))
    assert refused.value.fields == {"store": "S9", "gateway": "gw1"}
    await group.stop()


async def test_answers_from_every_transport_arrive_on_one_stream_which_ends_on_stop() -> None:
    mqtt, ble = CountingGateway(), CountingGateway()
    group = GatewayGroup({("S1", "gw1"): mqtt, ("S3", "ble0"): ble})
    await group.start()
    mqtt.answer(Uplink("S1", "gw1", b"from-mqtt", AT))
    ble.answer(Uplink("S3", "ble0", b"from-ble", AT))
    events = await asyncio.wait_for(_collect(group, 2), timeout=2)
    assert sorted(e.payload for e in events if isinstance(e, Uplink)) == [b"from-ble", b"from-mqtt"]
    await group.stop()
    assert await asyncio.wait_for(_collect(group, 1), timeout=2) == []
