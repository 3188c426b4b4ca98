"""`esl bench ble`: label updates through the BLE driver and the simulated bleak backend.

Each label (2.9" black/white/red, a rendered price label of its own) gets a full update,
then, after its refresh, a delta update for a price change, both through the real
`BleGateway` and `BleakClient` code with `firmware_sim.ble` standing in for the radio
(three connections at once, as on one adapter). Frames and renders are made beforehand;
only delivery is timed.

- `updates_per_s`: updates delivered and answered per second of wall time, full and
  delta together. The simulated radio costs nothing, so this is the driver's and the
  label firmware's CPU cost per update, an upper bound for a real adapter.
- `bytes_on_air_per_update_full` / `_delta`: every ATT PDU of the session, counted at
  the GATT layer with L2CAP (4 B) and ATT headers (docs/ble.md, "Bytes on air"):
  notification subscriptions, transfer begin and status read, Frame Data chunks and
  their write responses, the control point command and its notification, the signed
  response, Update Complete. Link-layer framing and connection setup are not counted.
- `frame_bytes_full_mean` / `_delta_mean`: the signed frames' own size, for comparison;
  `raw_image_bytes` is the panel's uncompressed planes.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Final

from firmware_sim.ble import ble_store, simulated_client_factory
from firmware_sim.hardware import hardware_for
from firmware_sim.label import SimulatedLabel
from gateways.base import Downlink
from gateways.ble.driver import BleGateway
from gateways.ble.link import ConnectPolicy
from gateways.protocol import (
    ImageUpdate,
    LabelFrame,
    build_image_update,
    decode_response,
    derive_label_key,
    encode_frame,
)
from rendering.content import LabelContent
from rendering.display_models import get_display_model
from rendering.encoding import Planes, planes_from_image
from rendering.render import render_label

__all__ = ["REQUIRED_KEYS", "run"]

REQUIRED_KEYS: Final = (
    "updates_per_s",
    "bytes_on_air_per_update_full",
    "bytes_on_air_per_update_delta",
)
_MODEL = get_display_model("2.9-bwr")
_T0 = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
_SECRET = b"esl-bench-ble-site-secret-000000"
_POLICY = ConnectPolicy(attempts=3, first_delay_s=0.0, max_delay_s=0.0)


class _Clock:
    def __init__(self) -> None:
        self.now = _T0

    def __call__(self) -> datetime:
        return self.now


def _planes(index: int, price: Decimal) -> Planes:
    content = LabelContent(
        sku=f"{100000 + index}",
        name=f"Jogurt naturalny kremowy {index % 7 + 1}00 g",
        brand="Mlekovita",
        gtin="5900512300108",
        currency="PLN",
        price=price,
        unit_price=(price * 5).quantize(Decimal("0.01")),
        unit_label="1 kg",
        store_name="Warszawa Mokotów",
    )
    return planes_from_image(render_label(content, model=_MODEL), has_accent=True)


def run(*, smoke: bool) -> dict[str, object]:
    count = 3 if smoke else 200
    return asyncio.run(_run(count))


async def _run(count: int) -> dict[str, object]:
    clock = _Clock()
    keys = {f"B{i:05d}": derive_label_key(_SECRET, f"B{i:05d}") for i in range(1, count + 1)}
    hardware = hardware_for(_MODEL)
    labels = [
        SimulatedLabel(label_id=label_id, hardware=hardware, key=key, now=_T0)
        for label_id, key in keys.items()
    ]
    air, addresses = ble_store(labels, keys=keys, clock=clock)

    full, delta = [], []
    for index, address in enumerate(addresses, start=1):
        before = _planes(index, Decimal("4.99") + index)
        after = _planes(index, Decimal("4.49") + index)
        key = keys[address.label_id]
        full.append(
            _downlink(address.label_id, 1, build_image_update(before, model_id=_MODEL.id), key)
        )
        update = build_image_update(after, model_id=_MODEL.id, base=before)
        delta.append(_downlink(address.label_id, 2, update, key))

    gateway = BleGateway(
        addresses,
        store="S001",
        client_factory=simulated_client_factory(air),
        max_connections=3,
        connect_policy=_POLICY,
        clock=clock,
    )
    async with gateway:
        started = time.perf_counter()
        await asyncio.gather(*(gateway.send(downlink) for downlink in full))
        full_bytes = air.counters.bytes_on_air
        full_elapsed = time.perf_counter() - started
        clock.now += timedelta(seconds=30)  # every refresh has finished
        started = time.perf_counter()
        await asyncio.gather(*(gateway.send(downlink) for downlink in delta))
        delta_elapsed = time.perf_counter() - started
        delta_bytes = air.counters.bytes_on_air - full_bytes

    acked = sum(
        decode_response(delivery.signed_response, key=keys[label_id]).acked
        for label_id, delivery in gateway.deliveries.items()
        if delivery.signed_response is not None
    )
    if acked != count:
        raise RuntimeError(f"only {acked} of {count} labels acknowledged their delta update")
    stride = (_MODEL.width + 7) // 8
    return {
        "updates_per_s": round(2 * count / (full_elapsed + delta_elapsed), 1),
        "bytes_on_air_per_update_full": round(full_bytes / count),
        "bytes_on_air_per_update_delta": round(delta_bytes / count),
        "frame_bytes_full_mean": round(sum(len(d.payload) for d in full) / count),
        "frame_bytes_delta_mean": round(sum(len(d.payload) for d in delta) / count),
        "raw_image_bytes": 2 * stride * _MODEL.height,
        "labels": count,
        "max_connections": 3,
        "att_mtu": air.mtu,
        "gatt_writes": air.counters.writes,
        "gatt_notifications": air.counters.notifications,
    }


def _downlink(label_id: str, sequence: int, command: ImageUpdate, key: bytes) -> Downlink:
    frame = LabelFrame(label_id=label_id, sequence=sequence, command=command)
    payload = encode_frame(frame, key=key)
    return Downlink(store="S001", gateway="ble0", label_id=label_id, payload=payload)
